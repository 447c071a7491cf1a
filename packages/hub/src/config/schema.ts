import { z } from 'zod';
import { accessSectionSchema } from '../access/config.js';
import { oidcSectionSchema } from '../auth/oidc/config.js';
import { catalogSectionSchema } from '../catalog/scanner-config.js';
import { viewerSectionSchema } from '../viewer/config.js';
import { storageSectionSchema } from '../storage/config.js';
import { sharingSectionSchema } from '../sharing/config.js';

/**
 * The one configuration schema of the hub. Every key has a default, a description and,
 * where it has one, its unit in its name. Precedence: defaults < TOML file < environment
 * (`EUCP_<SECTION>__<KEY>`, e.g. `EUCP_SPAWNER__START_TIMEOUT_MS`) < command-line flags.
 * `docs/configuration.md` is generated from this schema (see `renderConfigDocs`).
 */
const limitsSchema = z
  .object({
    memoryLimitBytes: z.number().int().positive().nullable().default(null)
      .describe('Memory limit of the server and everything it starts (kernels, terminals); null = no limit.'),
    cpuLimitCores: z.number().positive().nullable().default(null)
      .describe('CPU limit in cores (e.g. 0.5 or 2); null = no limit.'),
  })
  .strict();

/** A per-user or per-group override: keys left out fall through to the next level. */
const limitsOverrideSchema = z
  .object({
    memoryLimitBytes: z.number().int().positive().nullable().optional(),
    cpuLimitCores: z.number().positive().nullable().optional(),
    server: z.enum(['lab', 'singleuser']).optional()
      .describe('Which single-user server this user or group gets (overrides spawner.server).'),
  })
  .strict();

export const configSchema = z
  .object({
    ip: z.string().default('127.0.0.1').describe('Address the hub listens on.'),
    port: z.number().int().min(0).max(65535).default(8000).describe('Port the hub listens on (0 = any free port).'),
    publicUrl: z.string().url().nullable().default(null)
      .describe('URL users reach the hub at, if behind a reverse proxy; an https URL makes cookies Secure.'),
    stateDir: z.string().default('.eucp')
      .describe('Directory for the database, secrets, logs and homes. Overridden by EUCP_STATE_DIR.'),
    dataDir: z.string().nullable().default(null)
      .describe('The climate data cache, mounted read-only at /data in every sandbox; null = <stateDir>/data (demo data is generated there).'),
    log: z.object({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
        .describe('Log level of the structured (JSON) log on standard output.'),
    }).strict().prefault({}),
    db: z.object({
      url: z.string().nullable().default(null)
        .describe('Database URL; null = embedded SQLite at <stateDir>/hub.sqlite. (postgres:// comes with the scale-out issue.)'),
    }).strict().prefault({}),
    auth: z.object({
      sessionMaxAgeMs: z.number().int().positive().default(14 * 24 * 3600 * 1000)
        .describe('How long a browser session lasts without logging in again.'),
      loginMaxFailuresPerAccount: z.number().int().positive().default(5)
        .describe('Failed log-ins allowed per account within loginWindowMs before it is rate-limited.'),
      loginMaxFailuresPerAddress: z.number().int().positive().default(20)
        .describe('Failed log-ins allowed per client address within loginWindowMs.'),
      loginWindowMs: z.number().int().positive().default(15 * 60 * 1000)
        .describe('Window of the log-in rate limits.'),
      oauthTokenExpiresInMs: z.number().int().positive().default(14 * 24 * 3600 * 1000)
        .describe('Lifetime of the OAuth access tokens single-user servers get for their visitors.'),
    }).strict().prefault({}),
    spawner: z.object({
      kind: z.enum(['local-sandbox']).default('local-sandbox')
        .describe('How servers are started: local-sandbox = bubblewrap + a Unix account + cgroups on this machine.'),
      server: z.enum(['lab', 'singleuser']).default('lab')
        .describe('Single-user server of every user: lab = the EUCP lab server (JupyterLab 4, outputs kept while no browser is open); singleuser = the unmodified jupyterhub-singleuser (classic Notebook), for JupyterHub-ready setups. Per user or group: spawner.users.<name>.server, spawner.groups.<name>.server.'),
      cmd: z.array(z.string()).nullable().default(null)
        .describe('Command (argv) of the single-user server; null = the one `server` names.'),
      app: z.string().default('notebook.notebookapp.NotebookApp')
        .describe('JUPYTERHUB_SINGLEUSER_APP: the Jupyter application jupyterhub-singleuser runs (classic Notebook UI).'),
      startTimeoutMs: z.number().int().positive().default(60_000)
        .describe('How long a server may take to answer after it was started before the spawn fails.'),
      slowSpawnTimeoutMs: z.number().int().positive().default(10_000)
        .describe('After this, POST …/server answers 202 (still starting) instead of waiting for 201.'),
      stopTimeoutMs: z.number().int().positive().default(10_000)
        .describe('Grace period between SIGTERM and SIGKILL when stopping a server.'),
      pollIntervalMs: z.number().int().positive().default(5_000)
        .describe('How often the hub checks that running servers are still alive.'),
      unixUserPrefix: z.string().regex(/^[a-z][a-z0-9-]{0,15}$/).default('eucp-')
        .describe('Prefix of the Unix account of each hub user (prefix + hub name, at most 32 characters).'),
      homeRoot: z.string().nullable().default(null)
        .describe('Where home directories live on the host with storage.backend = "plain"; null = <stateDir>/home. (With btrfs storage, homes are subvolumes in <storage root>/home.)'),
      defaults: limitsSchema.default({ memoryLimitBytes: 2 * 1024 ** 3, cpuLimitCores: 1 })
        .describe('Resource limits of every server unless a group or user setting overrides them.'),
      groups: z.record(z.string(), limitsOverrideSchema).default({})
        .describe('Limits (the largest of a user\'s groups applies) and server choice per hub group.'),
      users: z.record(z.string(), limitsOverrideSchema).default({})
        .describe('Limits and server choice per hub user (override group and default settings).'),
    }).strict().prefault({}),
    culler: z.object({
      enabled: z.boolean().default(true).describe('Stop servers that have been idle for timeoutMs.'),
      timeoutMs: z.number().int().positive().default(3600_000).describe('Idle time after which a server is stopped.'),
      everyMs: z.number().int().positive().default(300_000).describe('How often the culler looks for idle servers.'),
    }).strict().prefault({}),
    oidc: oidcSectionSchema
      .describe('OpenID Connect log-in: providers (issuer, client, claims, group mapping, who may log in) and timings.'),
    access: accessSectionSchema
      .describe('ESGF access control: policy files, access groups to import, site choices of the decision rule.'),
    catalog: catalogSectionSchema
      .describe('Catalog index of the data cache: scanned roots, errata, and how datasets are published in ESGF search docs.'),
    storage: storageSectionSchema
      .describe('Homes, personal derived-data areas (/derived) and group workspaces (/groups/<group>), with quotas the filesystem enforces.'),
    sharing: sharingSectionSchema
      .describe('Read-only sharing of files and folders with users, groups and expiring links (/shared in the sandboxes).'),
    viewer: viewerSectionSchema
      .describe('Read-only notebook pages (/hub/view/<owner>/<path>) rendered on a separate origin where untrusted output runs sandboxed.'),
  })
  .strict();

export type HubConfig = z.infer<typeof configSchema>;
export type ResourceLimits = z.infer<typeof limitsSchema>;
