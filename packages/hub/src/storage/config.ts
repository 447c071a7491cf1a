import { z } from 'zod';

const GiB = 1024 ** 3;

const quotaSchema = (soft: number, hard: number, what: string) => z.object({
  softBytes: z.number().int().positive().nullable().default(soft)
    .describe(`Soft limit of ${what}: above it the hub warns (API field \`warning\`, the home page, a notification); null = no warning.`),
  hardBytes: z.number().int().positive().nullable().default(hard)
    .describe(`Hard limit of ${what}, enforced by the filesystem (writes beyond fail with "Disk quota exceeded"); null = unlimited.`),
}).strict().prefault({});

/**
 * The `[storage]` section: where homes, personal derived-data areas and group workspaces
 * live, and their quotas (see docs/decisions/0006-storage-quotas.md).
 */
export const storageSectionSchema = z.object({
  backend: z.enum(['btrfs-loop', 'btrfs', 'plain']).default('btrfs-loop')
    .describe('btrfs-loop = a sparse btrfs image <stateDir>/storage.img loop-mounted at <stateDir>/storage (created at first start; quotas enforced); btrfs = an existing btrfs filesystem at storage.path (quotas enforced); plain = ordinary directories, quotas NOT enforced (for machines without loop devices, e.g. unprivileged containers; homes then stay in spawner.homeRoot).'),
  path: z.string().nullable().default(null)
    .describe('Root of the storage areas (home/, derived/, groups/): required for backend btrfs (a directory on btrfs); null = <stateDir>/storage.'),
  imageSizeBytes: z.number().int().min(256 * 1024 ** 2).default(64 * GiB)
    .describe('Size of the sparse image of backend btrfs-loop (disk space is used only as files are written). Applies when the image is created.'),
  userQuota: quotaSchema(9 * GiB, 10 * GiB, 'each user (home and derived-data area together)')
    .describe('Default quota of each user (home + /derived together); per-user overrides: PUT /hub/api/eucp/storage/quotas/users/:name or `eucp storage quota set --user`.'),
  groupQuota: quotaSchema(45 * GiB, 50 * GiB, 'each group workspace')
    .describe('Default quota of each group workspace; per-group overrides: PUT /hub/api/eucp/storage/quotas/groups/:name or `eucp storage quota set --group`.'),
  groupWorkspaces: z.boolean().default(true)
    .describe('Every hub group gets a shared read-write workspace, mounted at /groups/<group> in the sandboxes of its members (created when a member\'s server starts).'),
  startGraceBytes: z.number().int().nonnegative().default(64 * 1024 ** 2)
    .describe('While a user\'s server starts, their hard limit is raised by this much, so a server can write its few start-up files (jupyterhub-singleuser creates ~/.jupyter, ~/.ipython) even when the home is full: an over-quota user is never locked out. The limit is restored once the server answers or fails.'),
  usageMaxAgeMs: z.number().int().positive().max(600_000).default(60_000)
    .describe('Usage figures are at most this old: the hub re-reads the filesystem\'s quota counters this often (and checks soft limits).'),
}).strict().prefault({});

export type StorageConfig = z.infer<typeof storageSectionSchema>;
