import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { HolderConfig, TerminalPaths } from './protocol.js';

/** How long a holder may take to start its shell and listen (tsx compiles it on the fly). */
const START_TIMEOUT_MS = 30_000;

/**
 * The holder's entry file next to this module: `holder.ts` when running from the
 * TypeScript sources (tsx), `holder.js` from the compiled dist.
 */
export function holderEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return fileURLToPath(new URL(`./holder${extname(self)}`, import.meta.url));
}

/**
 * The runtime flags the holder needs to load like this process (`--import tsx`,
 * `--conditions=source`, …), without those that only make sense once (test runner,
 * inspector, watch mode, `-e` scripts).
 */
export function holderExecArgv(execArgv: readonly string[] = process.execArgv): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i] as string;
    if (/^--(test|inspect|watch|debug)/.test(arg)) continue;
    if (['-e', '--eval', '-p', '--print'].includes(arg)) {
      i++;
      continue;
    }
    if (/^--(eval|print)=/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

/**
 * Starts a holder for `config`, detached (own session and process group; stdout/stderr
 * appended to `paths.log`, nothing tied to this process), and resolves with its PID once
 * it listens on its socket. Rejects with the holder's own reason if it fails to start.
 */
export function launchHolder(config: HolderConfig, paths: TerminalPaths, env: NodeJS.ProcessEnv): Promise<number> {
  const entry = holderEntry();
  const logFd = openSync(paths.log, 'w', 0o600);
  let child;
  try {
    // cwd: next to the entry, so that `--import tsx`-style flags resolve as they do here.
    child = spawn(process.execPath, [...holderExecArgv(), entry, JSON.stringify(config)], {
      detached: true,
      stdio: ['ignore', logFd, logFd, 'pipe'],
      cwd: dirname(entry),
      env,
    });
  } finally {
    closeSync(logFd);
  }
  const started = child;
  const pipe = started.stdio[3] as Readable;
  return new Promise<number>((resolve, reject) => {
    let text = '';
    const done = (err: Error | null): void => {
      clearTimeout(timer);
      pipe.removeAllListeners('data');
      pipe.destroy();
      started.removeAllListeners('exit');
      started.removeAllListeners('error');
      started.unref();
      if (err) {
        if (started.exitCode === null && started.signalCode === null) started.kill('SIGKILL');
        reject(err);
      } else resolve(started.pid as number);
    };
    const timer = setTimeout(
      () => done(new Error(`terminal ${config.name} did not start within ${START_TIMEOUT_MS} ms (see ${paths.log})`)),
      START_TIMEOUT_MS,
    );
    started.once('error', (err) => done(new Error(`cannot start terminal ${config.name}: ${err.message}`)));
    started.once('exit', (code, signal) =>
      done(new Error(`terminal ${config.name} exited while starting (${signal ?? `code ${code}`}; see ${paths.log})`)),
    );
    pipe.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const newline = text.indexOf('\n');
      if (newline < 0) return;
      let result: { ok?: boolean; error?: string };
      try {
        result = JSON.parse(text.slice(0, newline)) as { ok?: boolean; error?: string };
      } catch {
        result = { ok: false, error: 'garbled readiness report' };
      }
      done(result.ok ? null : new Error(`cannot start terminal ${config.name}: ${result.error ?? 'unknown error'}`));
    });
  });
}
