/**
 * The `[catalog]` section of the hub configuration (what the scanner indexes and how it is
 * published in ESGF docs), and the translation of a hub configuration into
 * {@link ScanOptions}. The defaults describe the EUCP-SYN demo data generated into the data
 * directory; a site sets `dataNode`, `indexNode`, `replicas`, `citationUrlTemplate` and the
 * PID settings to its own.
 */
import { join } from 'node:path';
import { z } from 'zod';
import type { HubConfig } from '../config/schema.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { EUCP_SYN_PUBLICATION } from './scanner-docs.js';
import type { ScanOptions } from './scanner.js';
import { SqliteCatalogStore } from './store.js';

const regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'not a valid regular expression');

const P = EUCP_SYN_PUBLICATION;

export const catalogSectionSchema = z
  .object({
    roots: z.array(z.string()).nullable().default(null)
      .describe('Directories of the data cache scanned for NetCDF files in CMIP6/CORDEX DRS layout; null = [dataDir].'),
    errataFiles: z.array(z.string()).nullable().default(null)
      .describe('Errata files (JSON, EUCP-SYN errata.json form; status "retracted" retracts datasets); null = <root>/errata.json of each root where it exists.'),
    dataNode: z.string().min(1).default(P.dataNode)
      .describe('Data node host name in ESGF docs (`id` = `<instance_id>|<dataNode>`, access URLs).'),
    indexNode: z.string().min(1).default(P.indexNode).describe('Index node host name in ESGF docs (`index_node`).'),
    replicas: z.array(z.object({ pattern: regex, dataNode: z.string().min(1) }).strict()).default(P.replicas.map((r) => ({ ...r })))
      .describe('Datasets (instance_id regex `pattern`) also published by another `dataNode`: replica docs (replica=true) are added.'),
    citationUrlTemplate: z.string().default(P.citationUrlTemplate)
      .describe('CMIP6 citation_url of a dataset; {instance_id} is replaced; empty = none.'),
    pidPrefix: z.string().default(P.pidPrefix).describe('Handle prefix of dataset PIDs (hdl:<prefix>/<uuid>); empty = no PIDs.'),
    pidNamespaceUrl: z.string().default(P.pidNamespaceUrl)
      .describe('Name-based (UUIDv5) PIDs of instance ids are minted in the namespace of this URL.'),
    modelCohort: z.string().default(P.modelCohort).describe('CMIP6 model_cohort facet (a CV property files do not carry); empty = none.'),
    rcmNameMap: z.record(z.string(), z.string()).default({})
      .describe('CORDEX rcm_model (directory) → rcm_name (facet) overrides; default strips the "<institute>-" prefix.'),
    checksums: z.boolean().default(true).describe('Compute the SHA-256 of every new or changed file (ESGF checksum).'),
    concurrency: z.number().int().positive().max(64).default(4).describe('Files read in parallel by a scan.'),
    rescanIntervalMs: z.number().int().nonnegative().default(300_000)
      .describe('The hub scans at start and then every rescanIntervalMs (incremental: only new and changed files are read); 0 = at start only.'),
  })
  .strict()
  .prefault({});

export type CatalogConfig = z.infer<typeof catalogSectionSchema>;

/**
 * Scan options from a hub configuration: roots (default the data directory), errata,
 * publication settings, and the incremental state in the hub database (`catalog_files`).
 */
export function catalogScanOptions(config: HubConfig, deps: { db: Db; log?: Logger }): ScanOptions {
  const c = config.catalog;
  const dataDir = config.dataDir ?? join(config.stateDir, 'data');
  return {
    roots: c.roots ?? [dataDir],
    errataFiles: c.errataFiles,
    publication: {
      dataNode: c.dataNode, indexNode: c.indexNode, replicas: c.replicas, citationUrlTemplate: c.citationUrlTemplate,
      pidPrefix: c.pidPrefix, pidNamespaceUrl: c.pidNamespaceUrl, modelCohort: c.modelCohort, rcmNameMap: c.rcmNameMap,
    },
    checksums: c.checksums,
    concurrency: c.concurrency,
    store: new SqliteCatalogStore(deps.db),
    ...(deps.log ? { log: deps.log.child({ component: 'catalog-scan' }) } : {}),
  };
}
