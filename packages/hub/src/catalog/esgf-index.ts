/**
 * The search index of the ESGF-compatible catalog: which fields of the ESGF Solr-style
 * documents (esgf-compat.md §2, as the scanner and the EUCP-SYN generator write them) are
 * indexed how, the indexed corpus of one record type, and the providers the routes ask for
 * the current corpora.
 *
 * Dataset and File docs are two separate corpora (ESGF: separate Solr cores), each a
 * {@link FacetIndex} plus the docs in the index's ordinal order — the order the docs were
 * given in, which is the default result order (ESGF returns Solr index order unless
 * `sort=true`).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FacetIndex, FacetIndexBuilder, type FacetFieldSpec } from '@eucp/core';

/** A search document: facet fields are arrays, the rest scalars. */
export type EsgDoc = Readonly<Record<string, unknown>>;

/** The two record types we index (ESGF's `Aggregation` is not). */
export type EsgfRecordType = 'Dataset' | 'File';

/** Facet fields (dictionary-encoded, counted): CMIP6, CORDEX-CMIP5 and common ones. Text-searchable unless listed in NOT_TEXT. */
export const ESGF_FACET_FIELDS: readonly string[] = [
  'project', 'mip_era', 'activity_id', 'activity_drs', 'institution_id', 'source_id', 'source_type', 'experiment_id',
  'experiment_title', 'sub_experiment_id', 'member_id', 'variant_label', 'table_id', 'frequency', 'realm', 'variable',
  'variable_id', 'variable_long_name', 'variable_units', 'cf_standard_name', 'grid_label', 'grid', 'nominal_resolution',
  'product', 'data_specs_version', 'model_cohort', 'data_node', 'index_node', 'access', 'checksum_type', 'version',
  'latest', 'replica', 'retracted', 'domain', 'institute', 'driving_model', 'experiment', 'ensemble', 'rcm_name',
  'rcm_version', 'time_frequency', 'owner',
];

const NOT_TEXT = new Set(['variable_units', 'data_specs_version', 'data_node', 'index_node', 'access', 'checksum_type', 'version', 'latest', 'replica', 'retracted']);

/** Identifier fields: exact and prefix matches, no per-record column (ESGF's NOT_FACETS ids). */
export const ESGF_KEY_FIELDS: readonly string[] = [
  'id', 'instance_id', 'master_id', 'dataset_id', 'title', 'tracking_id', 'checksum', 'pid', 'further_info_url', 'citation_url',
];

/**
 * Number fields for ranges and ordering. `timestamp` reads `timestamp` or, for Dataset docs,
 * `_timestamp`; `version_number` is `version` as a number (for `min_version`/`max_version`).
 */
export const ESGF_NUMBER_FIELDS: readonly FacetFieldSpec[] = [
  { name: 'datetime_start', kind: 'number' },
  { name: 'datetime_stop', kind: 'number' },
  { name: 'timestamp', kind: 'number', get: (d) => d['timestamp'] ?? d['_timestamp'] },
  { name: 'version_number', kind: 'number', get: (d) => d['version'] },
  { name: 'north_degrees', kind: 'number' },
  { name: 'south_degrees', kind: 'number' },
  { name: 'east_degrees', kind: 'number' },
  { name: 'west_degrees', kind: 'number' },
  { name: 'size', kind: 'number' },
];

/** The facets `facets=*` expands to (ESGF: the node's top-level facet profile). */
export const ESGF_DEFAULT_FACETS: readonly string[] = [
  'project', 'activity_id', 'institution_id', 'source_id', 'experiment_id', 'sub_experiment_id', 'member_id', 'table_id',
  'frequency', 'realm', 'variable_id', 'grid_label', 'nominal_resolution', 'source_type', 'data_node', 'domain', 'institute',
  'driving_model', 'experiment', 'ensemble', 'rcm_name', 'rcm_version', 'time_frequency', 'variable',
];

/** The index schema of both corpora. */
export const ESGF_INDEX_SPEC: readonly FacetFieldSpec[] = [
  ...ESGF_FACET_FIELDS.map((name): FacetFieldSpec => ({ name, kind: 'facet', text: !NOT_TEXT.has(name) })),
  ...ESGF_KEY_FIELDS.map((name): FacetFieldSpec => ({ name, kind: 'key' })),
  ...ESGF_NUMBER_FIELDS,
];

/** One record type's documents and their index; ordinal i of the index is `doc(i)`. */
export interface EsgfCorpus {
  readonly index: FacetIndex;
  doc(ordinal: number): EsgDoc;
}

/** Both corpora of one catalog state; replaced as a whole when the catalog changes. */
export interface EsgfSnapshot {
  readonly datasets: EsgfCorpus;
  readonly files: EsgfCorpus;
}

/**
 * Where the routes get the catalog from. Contract: `current()` returns the latest complete
 * snapshot (never a half-built one), cheaply when nothing changed; a snapshot once returned
 * is never modified (a caller may hold it for the duration of a request).
 */
export interface EsgfIndexProvider {
  current(): EsgfSnapshot | Promise<EsgfSnapshot>;
}

/** Indexes docs in the given order. */
export function buildEsgfCorpus(docs: readonly EsgDoc[]): EsgfCorpus {
  const b = new FacetIndexBuilder(ESGF_INDEX_SPEC);
  for (const d of docs) b.add(d);
  const index = b.build();
  return { index, doc: (i) => docs[i]! };
}

/** Both corpora from arrays of docs. */
export function buildEsgfSnapshot(datasets: readonly EsgDoc[], files: readonly EsgDoc[]): EsgfSnapshot {
  return { datasets: buildEsgfCorpus(datasets), files: buildEsgfCorpus(files) };
}

/** A provider over fixed docs (tests, one-off catalogs). */
export class StaticEsgfIndexProvider implements EsgfIndexProvider {
  private readonly snapshot: EsgfSnapshot;
  constructor(datasets: readonly EsgDoc[], files: readonly EsgDoc[]) {
    this.snapshot = buildEsgfSnapshot(datasets, files);
  }
  current(): EsgfSnapshot {
    return this.snapshot;
  }
}

/** What a changing catalog (the scanner) offers: docs plus a number that changes whenever they do. */
export interface EsgfDocSource {
  generation(): number;
  docs(): { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] };
}

/** Rebuilds the index when the source's generation changes (on the first request after it). */
export class GenerationalEsgfIndexProvider implements EsgfIndexProvider {
  private built: { generation: number; snapshot: EsgfSnapshot } | null = null;
  constructor(private readonly source: EsgfDocSource) {}
  current(): EsgfSnapshot {
    const g = this.source.generation();
    if (!this.built || this.built.generation !== g) {
      const { datasets, files } = this.source.docs();
      this.built = { generation: g, snapshot: buildEsgfSnapshot(datasets, files) };
    }
    return this.built.snapshot;
  }
}

/** Parses JSON Lines (one doc per non-empty line); throws naming the line on bad JSON. */
export function parseJsonl(text: string, name: string): EsgDoc[] {
  const out: EsgDoc[] = [];
  text.split('\n').forEach((line, k) => {
    if (line.trim() === '') return;
    try {
      out.push(JSON.parse(line) as EsgDoc);
    } catch (err) {
      throw new Error(`${name}:${k + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}

/**
 * Serves `<dir>/esgf/datasets.jsonl` + `files.jsonl` (the EUCP-SYN generator's and a
 * published catalog's form), re-reading them when their size or mtime changes; a missing
 * file counts as no docs (an empty catalog until the data is generated or scanned).
 * Concurrent calls during a reload share it.
 */
export class JsonlEsgfIndexProvider implements EsgfIndexProvider {
  private built: { stamp: string; snapshot: EsgfSnapshot } | null = null;
  private loading: Promise<EsgfSnapshot> | null = null;
  constructor(private readonly dir: string) {}

  async current(): Promise<EsgfSnapshot> {
    const files = ['datasets.jsonl', 'files.jsonl'].map((f) => path.join(this.dir, 'esgf', f));
    const stamp = (await Promise.all(files.map((f) => stat(f).catch(() => null)))).map((s) => (s ? `${s.size}:${s.mtimeMs}` : '-')).join('|');
    if (this.built?.stamp === stamp) return this.built.snapshot;
    const load = async (p: string): Promise<EsgDoc[]> => {
      try {
        return parseJsonl(await readFile(p, 'utf8'), p);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
    };
    this.loading ??= (async () => {
      try {
        const [d, f] = await Promise.all(files.map(load));
        const snapshot = buildEsgfSnapshot(d!, f!);
        this.built = { stamp, snapshot };
        return snapshot;
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
