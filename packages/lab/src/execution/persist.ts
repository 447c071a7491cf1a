/**
 * The unfinished tracked executions on disk, so a restarted lab server (crash, SIGKILL,
 * redeploy) knows which cell a still-running execution belongs to: one small JSON file
 * per execution in `<stateDir>/execution/`, written atomically (temp file, fsync,
 * rename) when the execution is requested and when its state changes (running, reply,
 * outputs first stored), never per output; removed once it ended. The outputs themselves
 * are in the stored notebook (`stored`), not here.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Run } from './tracker.js';

/** One unfinished execution as stored (`version` 1). */
export const runRecordSchema = z.object({
  version: z.literal(1),
  msgId: z.string().min(1),
  path: z.string(),
  cellId: z.string().min(1),
  /** `server`, or the client's session id. */
  origin: z.string(),
  kernelId: z.string().min(1),
  /** The kernel process's session when last known ('' = not known). */
  kernelSession: z.string(),
  code: z.string(),
  /** epoch ms */
  requestedAt: z.number(),
  recordTiming: z.boolean(),
  timing: z.record(z.string(), z.string()),
  state: z.enum(['queued', 'running']),
  executionCount: z.number().int().nullable(),
  /** The execute_reply arrived (its status is then `status`). */
  replied: z.boolean(),
  status: z.enum(['ok', 'error', 'aborted', 'dead']).nullable(),
  /** The lab server wrote this execution's outputs into the stored notebook at least once. */
  stored: z.boolean(),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

/** The record of a live run (read when the write happens, so queued saves coalesce). */
export function recordOf(run: Run): RunRecord {
  return {
    version: 1,
    msgId: run.msgId,
    path: run.path,
    cellId: run.cellId,
    origin: run.origin,
    kernelId: run.kernelId,
    kernelSession: run.kernelSession,
    code: run.code,
    requestedAt: run.requestedAt,
    recordTiming: run.recordTiming,
    timing: { ...run.timing },
    state: run.state === 'running' ? 'running' : 'queued',
    executionCount: run.executionCount,
    replied: run.replied && !run.replyLost,
    status: run.replyLost ? null : run.status,
    stored: run.stored,
  };
}

type Op = (() => RunRecord) | 'remove';

interface Slot {
  next: Op | null;
  busy: Promise<void> | null;
}

/** See the module comment. Write failures are logged, never thrown. */
export class RunStore {
  private readonly slots = new Map<string, Slot>();
  private dirMade = false;

  constructor(
    /** Absolute directory (`<stateDir>/execution`). */
    readonly dir: string,
    private readonly log: Logger,
  ) {}

  /**
   * The records left by an earlier lab server, oldest request first. Unreadable files and
   * leftover temp files are removed. Synchronous: called once at start-up.
   */
  loadSync(): RunRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const out: RunRecord[] = [];
    for (const name of names) {
      const file = join(this.dir, name);
      if (!name.endsWith('.json')) {
        if (name.endsWith('.tmp')) rmSync(file, { force: true });
        continue;
      }
      try {
        out.push(runRecordSchema.parse(JSON.parse(readFileSync(file, 'utf8'))));
      } catch (err) {
        this.log.warn({ file, err: String(err) }, 'removing an unreadable execution record');
        rmSync(file, { force: true });
      }
    }
    return out.sort((a, b) => a.requestedAt - b.requestedAt);
  }

  /** Writes the record `record()` returns (called when the write starts) for `msgId`. */
  save(msgId: string, record: () => RunRecord): void {
    this.queue(msgId, record);
  }

  /** Removes the record of `msgId` (after any queued write of it). */
  remove(msgId: string): void {
    this.queue(msgId, 'remove');
  }

  /** Resolves once every queued write and removal is done. */
  async flush(): Promise<void> {
    while (true) {
      const busy = [...this.slots.values()].map((s) => s.busy).filter((b): b is Promise<void> => b !== null);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** File of one record: a hash, since message ids come from clients. */
  fileOf(msgId: string): string {
    return join(this.dir, `${createHash('sha256').update(msgId, 'utf8').digest('hex').slice(0, 40)}.json`);
  }

  private queue(msgId: string, op: Op): void {
    let slot = this.slots.get(msgId);
    if (!slot) this.slots.set(msgId, (slot = { next: null, busy: null }));
    slot.next = op;
    if (slot.busy) return;
    const s = slot;
    s.busy = (async () => {
      while (s.next) {
        const next = s.next;
        s.next = null;
        try {
          if (next === 'remove') await rm(this.fileOf(msgId), { force: true });
          else await this.write(this.fileOf(msgId), next());
        } catch (err) {
          this.log.warn({ msgId, err: err instanceof Error ? err.message : String(err) }, 'cannot store the state of an execution');
        }
      }
      s.busy = null;
      this.slots.delete(msgId);
    })();
  }

  private async write(file: string, record: RunRecord): Promise<void> {
    if (!this.dirMade) {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      this.dirMade = true;
    }
    const tmp = `${file}.${randomUUID().slice(0, 8)}.tmp`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(record));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
