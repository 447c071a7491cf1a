import { AppError } from '@eucp/core';
import type { Command } from 'commander';

/**
 * Where account commands write and read, so tests can run them in process. Errors are
 * thrown (`AppError`); `main.ts` prints `error: <message>` and the catalog action on
 * stderr and exits with status 2.
 */
export interface CliIo {
  /** Writes to standard output. */
  out(text: string): void;
  /** Reads all of standard input. */
  readStdin(): Promise<string>;
  /** Environment used to find the configuration (`EUCP_STATE_DIR`, `EUCP_*`). */
  env: NodeJS.ProcessEnv;
}

export const processIo: CliIo = {
  out: (text) => { process.stdout.write(text); },
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  },
  env: process.env,
};

/** A password read from standard input: one trailing newline removed; empty ⇒ `INVALID_INPUT`. */
export async function passwordFromStdin(io: CliIo): Promise<string> {
  const text = (await io.readStdin()).replace(/\r?\n$/, '');
  if (!text) throw new AppError('INVALID_INPUT', 'No password on standard input.');
  return text;
}

/** The `--config` value of a command or of one of its parents. */
export function configFileOf(cmd: Command): string | undefined {
  const v = (cmd.optsWithGlobals() as { config?: unknown }).config;
  return typeof v === 'string' ? v : undefined;
}

/** Formats rows as a left-aligned text table with a header row. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
