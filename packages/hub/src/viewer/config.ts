import { z } from 'zod';

/**
 * The `[viewer]` section of the hub configuration: the notebook viewer's own origin
 * (a second listener of the hub process) and its limits. See docs/security.md.
 */
export const viewerSectionSchema = z.object({
  enabled: z.boolean().default(true)
    .describe('Serve read-only notebook pages at /hub/view/<owner>/<path> (rendered on the viewer origin).'),
  listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:[\]]+):\d{1,5}$/, 'must be host:port, e.g. 127.0.0.1:0 or [::1]:8001').refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'the port must be at most 65535')
    .default('127.0.0.1:0')
    .describe('host:port of the viewer origin, a second listener of the hub (port 0 = any free port). Untrusted notebook output runs only there.'),
  publicUrl: z.string().url().nullable().default(null)
    .describe('URL browsers reach the viewer at, when behind a reverse proxy (best a hostname of its own, e.g. https://nbview.example.org/); null = http://<listen host>:<port>/.'),
  ticketTtlMs: z.number().int().positive().default(5 * 60_000)
    .describe('Lifetime of the signed link the hub page gives the viewer frame for one notebook file.'),
  maxNotebookBytes: z.number().int().positive().default(100 * 1024 * 1024)
    .describe('Largest notebook file the viewer renders; larger ones get an error page saying so.'),
}).strict().prefault({});

export type ViewerConfig = z.infer<typeof viewerSectionSchema>;

/** `host:port` of `viewer.listen` split; IPv6 hosts come without brackets. */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host, port: Number(listen.slice(i + 1)) };
}
