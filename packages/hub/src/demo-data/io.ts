/**
 * Atomic file output for the generator: write a temporary file in the target directory, fsync
 * it, rename it over the final name, so an interrupted run never leaves a half-written file
 * under a real name.
 */
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** What was written: path relative to the output root, size (bytes) and SHA-256 (hex). */
export interface WrittenFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

let tmpCounter = 0;

/** SHA-256 (hex) of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes `bytes` to `root/relPath` atomically (temp file + fsync + rename) and creates parent
 * directories. Returns the size and SHA-256 of what was written.
 */
export async function writeAtomic(root: string, relPath: string, bytes: Uint8Array | string): Promise<WrittenFile> {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  const target = join(root, ...relPath.split('/'));
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.eucp-syn-${process.pid}-${++tmpCounter}.tmp`);
  const fh = await open(tmp, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (err) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  return { path: relPath, size: data.length, sha256: sha256Hex(data) };
}

/** Flushes a directory's entries (the renames) to disk; best effort where the OS refuses. */
export async function fsyncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    // Some platforms/file systems do not allow fsync on directories; the data itself is synced.
  } finally {
    await fh?.close();
  }
}

/** Serialises JSON deterministically (2-space indent, trailing newline). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
