import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { defaultUiDir, type LabStartup } from '../src/config.js';
import { startLab, type RunningLab } from '../src/server.js';

export interface TestLab extends RunningLab {
  /** `http://127.0.0.1:<port>` + base URL, with a trailing slash. */
  url: string;
  root: string;
  stateDir: string;
  token: string;
  /** Headers that authenticate as the owner. */
  headers: Record<string, string>;
  /** Stops the server, its kernels and terminals, and removes its directories. */
  destroy(): Promise<void>;
}

/**
 * A real lab server (real kernels, files, terminals) on 127.0.0.1:0 in token mode, on a
 * fresh temporary home. Pass `root`/`stateDir` to start a second server on the same
 * state (a lab-server restart).
 */
export async function startTestLab(opts: { root?: string; stateDir?: string; baseUrl?: string; token?: string } = {}): Promise<TestLab> {
  const root = opts.root ?? mkdtempSync(path.join(tmpdir(), 'eucp-lab-home-'));
  const stateDir = opts.stateDir ?? path.join(root, '.local/share/eucp-lab');
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const token = opts.token ?? 'test-token-' + Math.random().toString(36).slice(2);
  const startup: LabStartup = {
    config: { baseUrl: opts.baseUrl ?? '/', rootDir: root, stateDir, uiDir: defaultUiDir(), defaultUrl: 'lab' },
    host: '127.0.0.1',
    port: 0,
    hub: null,
    token,
  };
  const lab = await startLab(startup, pino({ level: process.env.EUCP_TEST_LOG ?? 'silent' }));
  return {
    ...lab,
    url: `http://127.0.0.1:${lab.port}${startup.config.baseUrl}`,
    root,
    stateDir,
    token,
    headers: { authorization: `token ${token}` },
    async destroy() {
      await lab.close({ keepKernels: false });
      if (!opts.root) rmSync(root, { recursive: true, force: true });
    },
  };
}
