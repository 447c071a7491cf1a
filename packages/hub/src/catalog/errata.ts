/**
 * Errata files: a JSON array of entries, each naming the dataset versions (`instance_id`s) it
 * concerns, in the form the EUCP-SYN generator writes (`errata.json`, synthetic-climate-data.md
 * §3.7) — a small local stand-in for the ESGF errata service:
 *
 * ```json
 * [{"id":"SYN-ERR-001","datasets":["CMIP6.….v20190101"],"severity":"high","title":"+0.5 K bias","superseded_by":"v20190601"},
 *  {"id":"SYN-ERR-002","datasets":["CMIP6.….v20200315"],"status":"retracted","title":"…","superseded_by":"v20200901"}]
 * ```
 *
 * An entry with `status: "retracted"` retracts its datasets (ESGF `retracted=true`,
 * `latest=false`); any other entry is informational (shown on the dataset page).
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const erratumSchema = z
  .object({
    id: z.string().min(1),
    datasets: z.array(z.string().min(1)),
    title: z.string(),
    severity: z.string().optional(),
    status: z.string().optional(),
    superseded_by: z.string().optional(),
  })
  .passthrough();

/** One erratum. Unknown fields are kept. */
export type Erratum = z.infer<typeof erratumSchema>;

const errataSchema = z.array(erratumSchema);

/** Result of reading errata files: entries, and the files that could not be read (never fatal). */
export interface ErrataLoad {
  errata: Erratum[];
  problems: { path: string; reason: string }[];
}

/**
 * Reads errata files in order; a missing file is skipped silently when `optional`, an
 * unreadable or invalid one is reported in `problems`.
 */
export async function loadErrata(files: readonly { path: string; optional: boolean }[]): Promise<ErrataLoad> {
  const out: ErrataLoad = { errata: [], problems: [] };
  for (const { path, optional } of files) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      out.problems.push({ path, reason: `errata file unreadable: ${(err as Error).message}` });
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      out.problems.push({ path, reason: `errata file is not JSON: ${(err as Error).message}` });
      continue;
    }
    const parsed = errataSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      out.problems.push({ path, reason: `errata file is not an array of {id, datasets[], title}: ${issue.path.join('.')}: ${issue.message}` });
      continue;
    }
    out.errata.push(...parsed.data);
  }
  return out;
}

/** The instance ids retracted by errata. */
export function retractedIds(errata: readonly Erratum[]): Set<string> {
  return new Set(errata.filter((e) => e.status?.toLowerCase() === 'retracted').flatMap((e) => e.datasets));
}
