/**
 * Spill blobs: the full text of outputs too large to keep in the notebook, written to
 * `<stateDir>/outputs/`. A blob is appended to under a provisional name while its
 * execution runs, then fsynced and renamed to `<sha256>.txt` (or `.json` for a display
 * bundle), so identical outputs share one file and nothing is lost when a cell is capped.
 */
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

interface Blob {
  file: string;
  ext: 'txt' | 'json';
  out: WriteStream;
  hash: Hash;
  failed: boolean;
}

/** Writes spill blobs; one instance per lab server. */
export class SpillStore {
  private readonly blobs = new Map<string, Blob>();
  private dirMade = false;

  constructor(
    /** Absolute directory of the blobs (`<stateDir>/outputs`). */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /** Provisional absolute path of blob `key` (what markers show until it is finished). */
  partialPath(key: string, kind: 'text' | 'json'): string {
    return join(this.dir, `partial-${key}.${kind === 'json' ? 'json' : 'txt'}`);
  }

  /** Appends `text` to blob `key`, creating it on first use. Write errors are logged, never thrown. */
  append(key: string, kind: 'text' | 'json', text: string): void {
    let blob = this.blobs.get(key);
    if (!blob) {
      const file = this.partialPath(key, kind);
      if (!this.dirMade) {
        // Once per server, before the stream opens its file (rare: only capped outputs spill).
        try {
          mkdirSync(this.dir, { recursive: true, mode: 0o700 });
          this.dirMade = true;
        } catch (err) {
          this.log.error({ err, dir: this.dir }, 'cannot create the spilled-output directory');
        }
      }
      const out = createWriteStream(file, { flags: 'w', mode: 0o600 });
      const b: Blob = { file, ext: kind === 'json' ? 'json' : 'txt', out, hash: createHash('sha256'), failed: false };
      out.on('error', (err) => {
        if (!b.failed) this.log.error({ err, file }, 'cannot write spilled output; the notebook keeps only the capped copy');
        b.failed = true;
      });
      this.blobs.set(key, b);
      blob = b;
    }
    blob.hash.update(text, 'utf8');
    if (!blob.failed) blob.out.write(text, 'utf8');
  }

  /**
   * Finishes blob `key`: flushes and fsyncs it and renames it to its content hash.
   * @returns the final absolute path (the provisional one if writing failed), or null for an unknown key.
   */
  async finish(key: string): Promise<string | null> {
    const blob = this.blobs.get(key);
    if (!blob) return null;
    this.blobs.delete(key);
    const final = join(this.dir, `${blob.hash.digest('hex')}.${blob.ext}`);
    await new Promise<void>((resolve) => {
      if (blob.out.destroyed) return resolve();
      blob.out.once('close', () => resolve());
      blob.out.end();
    });
    if (blob.failed) return blob.file;
    try {
      const fh = await open(blob.file, 'r+');
      try {
        await fh.datasync();
      } finally {
        await fh.close();
      }
      const exists = await stat(final).then(() => true, () => false);
      if (exists) await rm(blob.file, { force: true });
      else await rename(blob.file, final);
      return final;
    } catch (err) {
      this.log.error({ err, file: blob.file }, 'cannot finish spilled output file');
      return blob.file;
    }
  }

  /** Finishes every open blob (server exit). */
  async close(): Promise<void> {
    await Promise.all([...this.blobs.keys()].map((k) => this.finish(k)));
  }
}
