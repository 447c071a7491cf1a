import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/**
 * Writes `text` to `file` atomically: a temporary file in the same directory, fsync,
 * rename over the target, fsync of the directory. Readers see the old or the new
 * content, never a mix; a crash leaves at most a stray `.~eucp-*` file. Creates the
 * parent directories. Throws the underlying fs error.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.~eucp-${randomBytes(6).toString('hex')}-${path.basename(file)}`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}
