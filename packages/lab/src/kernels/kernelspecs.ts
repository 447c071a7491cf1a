/**
 * Kernelspec discovery (jupyter-server-api.md b.3), as jupyter_client's `kernelspec.py`
 * does it: `kernels/<name>/kernel.json` in the Jupyter data paths, the first directory
 * holding a name wins.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { KernelSpec } from './types.js';

/** The `kernel.json` fields we use; unknown fields are dropped. */
export const kernelJsonSchema = z.object({
  argv: z.array(z.string()).min(1),
  display_name: z.string(),
  language: z.string(),
  interrupt_mode: z.enum(['signal', 'message']).optional(),
  env: z.record(z.string(), z.string()).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/** Kernel names jupyter_client accepts (compared in lower case). */
const VALID_NAME = /^[a-z0-9._-]+$/;

/**
 * The `kernels` directories searched, in priority order: each `$JUPYTER_PATH` entry, the
 * user data dir (`$JUPYTER_DATA_DIR`, else `$XDG_DATA_HOME/jupyter`, else
 * `~/.local/share/jupyter`), then `/usr/local/share/jupyter` and `/usr/share/jupyter`
 * (Debian's Python prefix is `/usr`, so that is also the environment dir).
 */
export function kernelSpecDirs(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  const roots: string[] = [];
  for (const p of (env.JUPYTER_PATH ?? '').split(delimiter)) if (p) roots.push(p);
  if (env.JUPYTER_DATA_DIR) roots.push(env.JUPYTER_DATA_DIR);
  else if (env.XDG_DATA_HOME) roots.push(join(env.XDG_DATA_HOME, 'jupyter'));
  else roots.push(join(home, '.local', 'share', 'jupyter'));
  roots.push('/usr/local/share/jupyter', '/usr/share/jupyter');
  return [...new Set(roots.map((r) => join(r, 'kernels')))];
}

/** Reads one kernelspec directory; returns null (with a log line) when it is unusable. */
export async function readKernelSpec(name: string, dir: string, log?: Logger): Promise<KernelSpec | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, 'kernel.json'), 'utf8'));
  } catch (err) {
    log?.warn({ dir, err: String(err) }, 'skipping kernelspec: kernel.json unreadable');
    return null;
  }
  const parsed = kernelJsonSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    log?.warn({ dir, issue: `${issue?.path.join('.')}: ${issue?.message}` }, 'skipping kernelspec: invalid kernel.json');
    return null;
  }
  const resources: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.name === 'kernel.json') continue;
    if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(dir, entry.name)).catch(() => null))?.isFile())) {
      resources.push(entry.name);
    }
  }
  resources.sort();
  return { name, resourceDir: dir, spec: parsed.data, resources };
}

/** Options of {@link findKernelSpecs}. */
export interface FindKernelSpecsOptions {
  /** `kernels` directories in priority order; {@link kernelSpecDirs} when omitted. */
  dirs?: string[];
  log?: Logger;
  /**
   * Interpreter used to synthesize `python3` when no directory provides it and that
   * interpreter can import ipykernel (jupyter_client's "native kernel"); null disables it.
   * Default `/usr/bin/python3`.
   */
  python?: string | null;
}

/**
 * All kernelspecs by (lower-case) name. Directories that are missing are ignored; a
 * kernelspec with a bad `kernel.json` is skipped with a warning.
 */
export async function findKernelSpecs(opts: FindKernelSpecsOptions = {}): Promise<Record<string, KernelSpec>> {
  const specs: Record<string, KernelSpec> = {};
  for (const root of opts.dirs ?? kernelSpecDirs()) {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const name = entry.name.toLowerCase();
      if (specs[name] || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
      const dir = join(root, entry.name);
      if (!existsSync(join(dir, 'kernel.json'))) continue;
      if (!VALID_NAME.test(name)) {
        opts.log?.warn({ dir }, 'skipping kernelspec: invalid name');
        continue;
      }
      const spec = await readKernelSpec(name, dir, opts.log);
      if (spec) specs[name] = spec;
    }
  }
  const python = opts.python === undefined ? '/usr/bin/python3' : opts.python;
  if (!specs.python3 && python) {
    const native = await nativePythonSpec(python);
    if (native) specs.python3 = native;
  }
  return specs;
}

/** The default kernel name: `python3` if present, else the first name in order. */
export function defaultKernelName(specs: Record<string, KernelSpec>): string {
  if (specs.python3) return 'python3';
  return Object.keys(specs).sort()[0] ?? 'python3';
}

const nativeCache = new Map<string, Promise<KernelSpec | null>>();

/**
 * ipykernel's own spec for `python`, like jupyter_client's NATIVE_KERNEL: argv
 * `[python, -m, ipykernel_launcher, -f, {connection_file}]`, resources from ipykernel's
 * package. Null if the interpreter is missing or cannot import ipykernel. Cached.
 */
export function nativePythonSpec(python: string): Promise<KernelSpec | null> {
  let p = nativeCache.get(python);
  if (!p) {
    const code = 'import ipykernel.kernelspec as k, importlib.util as u; print(k.RESOURCES); print(u.find_spec("debugpy") is not None)';
    p = new Promise((resolve) => {
      execFile(python, ['-c', code], { timeout: 20_000 }, (err, stdout) => {
        if (err) return resolve(null);
        const [resources = '', debugger_ = 'False'] = stdout.trim().split('\n');
        readdir(resources)
          .catch(() => [] as string[])
          .then((files) =>
            resolve({
              name: 'python3',
              resourceDir: resources,
              resources: files.filter((f) => f !== 'kernel.json').sort(),
              spec: {
                argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
                display_name: 'Python 3 (ipykernel)',
                language: 'python',
                metadata: { debugger: debugger_ === 'True' },
              },
            }),
          );
      });
    });
    nativeCache.set(python, p);
  }
  return p;
}
