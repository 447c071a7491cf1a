import { z } from 'zod';

/**
 * The `[sharing]` section: read-only sharing of files and folders with users, groups and
 * expiring links, shown in the recipients' sandboxes at `/shared/<owner>/<name>` (see
 * docs/decisions/0008-read-only-sharing.md).
 */
export const sharingSectionSchema = z.object({
  enabled: z.boolean().default(true)
    .describe('Show shares in the recipients\' sandboxes (/shared, needs root, bindfs and fuse3); false = no /shared in sandboxes and no mounts (shares can still be recorded).'),
  reconcileIntervalMs: z.number().int().min(1000).max(3600_000).default(30_000)
    .describe('How often the hub compares the mounts of /shared with the grants (expired links, group membership changed by other means than the hub API, mounts lost).'),
  linkMaxAgeMs: z.number().int().positive().default(90 * 24 * 3600_000)
    .describe('Longest lifetime of a share link (its expiry may be at most this far in the future).'),
}).strict().prefault({});

export type SharingConfig = z.infer<typeof sharingSectionSchema>;
