import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

/** Every file below `root`, as sorted `/`-separated paths relative to it. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await visit(p);
      else out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await visit(root);
  return out.sort();
}
