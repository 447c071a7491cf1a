import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Mount points below `stateDir` made by the hub's sharing (views and share mounts), deepest first. */
function sharingMounts(stateDir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '')
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((m) => m.startsWith(`${stateDir}/shared-views/`) || m.startsWith(`${stateDir}/share-mounts/`))
    .sort((a, b) => b.length - a.length);
}

/**
 * Releases what a test hub's sharing left mounted (a hub leaves its mounts for running
 * servers when it stops): lazily unmounts every view and share mount below `stateDir`,
 * then ends leftover bindfs processes serving paths below it, by PID. Call after the hub
 * process is gone, before removing the state dir.
 */
export async function releaseShareMounts(stateDir: string): Promise<void> {
  for (const m of sharingMounts(stateDir)) await run('/usr/bin/umount', ['-l', m]).catch(() => undefined);
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!readlinkSync(`/proc/${pid}/exe`).endsWith('/bindfs')) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith(`${stateDir}/`))) process.kill(Number(pid), 'SIGKILL');
    } catch { /* already gone */ }
  }
}
