/**
 * Lab-server restarts with real processes: the compiled server (`dist/main.js`, build
 * with `npx tsc -b` first) as a child process, a real ipykernel, a real terminal holder.
 * SIGKILL mid-run loses nothing already written, and the new server on the same state
 * goes on writing the still-running cell; SIGTERM (the hub stopping the server) leaves
 * no kernel or terminal behind.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { isAlive } from '../src/kernels/launcher.js';
import { FrameDecoder, holderMessageSchema, terminalPaths } from '../src/terminals/protocol.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const NB = 'restart.ipynb';
const CELL = 'loop';
const CODE = 'import time\nfor i in range(120): print(i, flush=True); time.sleep(0.05)';
const TERM_LOOP = 'for i in $(seq 1 50); do echo t-$i; sleep 0.05; done\r';

/** Every kernel and holder pid a test saw: killed at the end whatever happened. */
const leftovers = new Set<number>();
const servers = new Set<ChildProcess>();
after(() => {
  for (const child of servers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const pid of leftovers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
});

interface Dirs {
  root: string;
  stateDir: string;
  remove(): void;
}
function tempDirs(): Dirs {
  const base = mkdtempSync(path.join(tmpdir(), 'eucp-restart-'));
  const root = path.join(base, 'root');
  const stateDir = path.join(base, 'state');
  mkdirSync(root);
  return { root, stateDir, remove: () => rmSync(base, { recursive: true, force: true }) };
}

/** One `node dist/main.js` child process. */
class LabProcess {
  out = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private constructor(
    readonly child: ChildProcess,
    readonly base: string,
    readonly token: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static async start(dirs: Dirs, token: string): Promise<LabProcess> {
    const child = spawn(process.execPath, [MAIN, '--root', dirs.root, '--state-dir', dirs.stateDir, '--port', '0', '--token', token], {
      env: { ...process.env, EUCP_LAB_LOG_LEVEL: 'info', JUPYTERHUB_API_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    servers.add(child);
    let out = '';
    const base = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        const m = /EUCP lab server running at (http:\/\/\S+?\/)lab\?token=/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`lab server exited (${code}) before listening:\n${out}`)));
    });
    const lab = new LabProcess(child, base, token);
    lab.out = out;
    const keep = (chunk: Buffer): void => void (lab.out += chunk.toString('utf8'));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return lab;
  }

  async api<T>(method: string, apiPath: string, body?: unknown): Promise<{ status: number; json: T }> {
    const res = await fetch(this.base + apiPath, {
      method,
      headers: { authorization: `token ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as T };
  }

  socket(wsPath: string): Promise<WebSocket> {
    const ws = new WebSocket(this.base.replace(/^http/, 'ws') + wsPath, { headers: { authorization: `token ${this.token}` } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  }

  /** Log records (pino JSON lines) whose `msg` is `msg`. */
  logs(msg: string): Array<Record<string, unknown>> {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.msg === msg);
  }
}

/** Resolves once `check` holds, checked now and on every change in directory `dir`. */
function dirUntil(dir: string, check: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const watcher = watch(dir, () => {
      if (check()) {
        watcher.close();
        resolve();
      }
    });
    if (check()) {
      watcher.close();
      resolve();
    }
  });
}

/** Resolves with the text of `file` once `test` accepts it. */
async function fileUntil(file: string, test: (text: string) => boolean): Promise<string> {
  let text = '';
  await dirUntil(path.dirname(file), () => {
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      return false;
    }
    return test(text);
  });
  return text;
}

/** Stdout lines of the cell, as numbers (NaN for anything else), from the notebook's text. */
function cellLines(nbText: string): number[] {
  const nb = JSON.parse(nbText) as { cells: Array<{ id: string; outputs?: Array<{ output_type: string; name?: string; text?: string | string[] }> }> };
  const cell = nb.cells.find((c) => c.id === CELL);
  const text = (cell?.outputs ?? [])
    .filter((o) => o.output_type === 'stream' && o.name === 'stdout')
    .map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? '')))
    .join('');
  return text.split('\n').filter((l) => l !== '').map((l) => (/^\d+$/.test(l) ? Number(l) : Number.NaN));
}

async function validNotebook(file: string): Promise<void> {
  await promisify(execFile)('/usr/bin/python3', ['-c', 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1],4))', file]);
}

/** Holder and shell pids of a terminal, from the `info` its holder sends on connect. */
function terminalPids(stateDir: string, name: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const sock = connect(terminalPaths(stateDir, name).socket);
    const decoder = new FrameDecoder(holderMessageSchema);
    sock.on('data', (chunk) => {
      const info = decoder.push(chunk).find((m) => m.type === 'info');
      if (info?.type === 'info') {
        sock.destroy();
        resolve([info.holderPid, info.shellPid]);
      }
    });
    sock.once('error', reject);
  });
}

/** Pids of the kernels recorded in `<stateDir>/kernels/`. */
function kernelPids(stateDir: string): number[] {
  const dir = path.join(stateDir, 'kernels');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { pid?: number }).pid)
    .filter((p): p is number => typeof p === 'number' && p > 0);
}

/** A terminado client collecting the text of `stdout` frames. */
function terminalText(ws: WebSocket): { text: () => string; until: (re: RegExp) => Promise<void> } {
  let text = '';
  const waiters: Array<() => void> = [];
  ws.on('message', (raw) => {
    const frame = JSON.parse(String(raw)) as unknown[];
    if (frame[0] === 'stdout') text += String(frame[1]);
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => text,
    until: (re) =>
      new Promise((resolve) => {
        const check = (): void => (re.test(text) ? resolve() : void waiters.push(check));
        check();
      }),
  };
}

/** A notebook with one empty-output code cell. */
const notebook = {
  cells: [{ id: CELL, cell_type: 'code', source: CODE, metadata: {}, outputs: [], execution_count: null }],
  metadata: { kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' } },
  nbformat: 4,
  nbformat_minor: 5,
};

describe('lab-server restarts with real processes', { timeout: 180_000 }, () => {
  it('SIGKILL loses nothing written; the new server re-adopts the kernel and terminal and finishes writing the cell', async (t) => {
    const dirs = tempDirs();
    t.after(() => dirs.remove());
    const token = `t-${randomUUID()}`;
    const file = path.join(dirs.root, NB);

    const first = await LabProcess.start(dirs, token);
    assert.equal((await first.api('PUT', `api/contents/${NB}`, { type: 'notebook', format: 'json', content: notebook })).status, 201);
    const created = await first.api<{ kernel: { id: string } }>('POST', 'api/sessions', { path: NB, name: NB, type: 'notebook', kernel: { name: 'python3' } });
    assert.equal(created.status, 201);
    const kernelId = created.json.kernel.id;
    for (const pid of kernelPids(dirs.stateDir)) leftovers.add(pid);

    // A terminal running a loop across the restart.
    const term = await first.api<{ name: string }>('POST', 'api/terminals');
    assert.equal(term.status, 200);
    const termName = term.json.name;
    for (const pid of await terminalPids(dirs.stateDir, termName)) leftovers.add(pid);
    const tab = await first.socket(`terminals/websocket/${termName}`);
    const tabText = terminalText(tab);
    tab.send(JSON.stringify(['stdin', TERM_LOOP]));
    await tabText.until(/t-1\r?\n/);
    tab.close();

    // Run the cell the way JupyterLab does, then close the tab.
    const sessionId = randomUUID();
    const ws = await first.socket(`api/kernels/${kernelId}/channels?session_id=${sessionId}`);
    const msgId = randomUUID();
    // The tab stays until line 10 is shown: long enough for the server to see it attached
    // (so it writes at once when the tab goes, instead of on the 3 s debounce).
    let shown = '';
    const started = new Promise<void>((resolve) =>
      ws.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as { channel: string; header: { msg_type: string }; parent_header: { msg_id?: string }; content: { text?: string } };
        if (m.channel === 'iopub' && m.header.msg_type === 'stream' && m.parent_header.msg_id === msgId) shown += m.content.text ?? '';
        if (/^10$/m.test(shown)) resolve();
      }),
    );
    ws.send(
      JSON.stringify({
        channel: 'shell',
        header: { msg_id: msgId, msg_type: 'execute_request', session: sessionId, username: 'test', date: new Date().toISOString(), version: '5.3' },
        parent_header: {},
        metadata: { deletedCells: [], recordTiming: false, cellId: CELL },
        content: { code: CODE, silent: false, store_history: true, user_expressions: {}, allow_stdin: true, stop_on_error: true },
      }),
    );
    await started;
    const t0 = Date.now();
    ws.close();

    // The server writes the outputs once the tab is gone; kill it without warning.
    await fileUntil(file, (text) => cellLines(text).length >= 3);
    t.diagnostic(`outputs first written ${Date.now() - t0} ms after the tab closed`);
    first.child.kill('SIGKILL');
    await first.exited;
    await validNotebook(file);
    const before = cellLines(readFileSync(file, 'utf8'));
    const k = before.length - 1;
    assert.deepEqual(before, Array.from({ length: k + 1 }, (_, i) => i), 'lines 0..k in order');
    assert.ok(k < 119, `the kill came before the end (k = ${k})`);

    // A new server on the same root and state.
    const second = await LabProcess.start(dirs, token);
    t.after(async () => {
      if (second.child.exitCode === null) {
        second.child.kill('SIGKILL');
        await second.exited;
      }
    });
    const view = await second.socket(`api/eucp/notebooks/events?path=${NB}`);
    const done = new Promise<void>((resolve) =>
      view.on('message', (raw) => {
        const m = JSON.parse(String(raw)) as
          | { type: 'snapshot'; cells: Array<{ msgId: string; state: string }> }
          | { type: 'event'; event: { kind: string; msgId?: string; state?: string } };
        const finished =
          m.type === 'snapshot'
            ? m.cells.some((c) => c.msgId === msgId && c.state === 'done')
            : m.event.kind === 'state' && m.event.msgId === msgId && m.event.state === 'done';
        if (finished) resolve();
      }),
    );
    await done;
    view.close();
    // Its record is removed after the final write.
    const records = path.join(dirs.stateDir, 'execution');
    await dirUntil(records, () => readdirSync(records).length === 0);
    await validNotebook(file);
    const lines = cellLines(readFileSync(file, 'utf8'));
    assert.ok(lines.every(Number.isInteger), `only counter lines: ${JSON.stringify(lines)}`);
    assert.equal(lines[0], 0);
    assert.equal(lines[lines.length - 1], 119);
    assert.deepEqual(lines.slice(0, k + 1), before, 'everything written before the kill is kept');
    const gaps: Array<[number, number]> = [];
    for (let i = 1; i < lines.length; i++) {
      assert.ok(lines[i]! > lines[i - 1]!, `increasing, no duplicates: ${lines[i - 1]} then ${lines[i]}`);
      if (lines[i] !== lines[i - 1]! + 1) gaps.push([lines[i - 1]! + 1, lines[i]! - 1]);
    }
    assert.ok(gaps.length <= 1, `at most one gap (the downtime): ${JSON.stringify(gaps)}`);
    if (gaps[0]) assert.ok(gaps[0][0] > k, 'the gap is after what was written before the kill');
    const missing = gaps[0] ? gaps[0][1] - gaps[0][0] + 1 : 0;
    t.diagnostic(`written before the kill: 0..${k}; lost during the restart: ${missing} lines ${JSON.stringify(gaps[0] ?? null)}`);
    const resumed = second.logs('resumed an execution left by the previous lab server');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.kept, 1, 'the run went on from the stored stream output');
    t.diagnostic(`resumed with ${String(resumed[0]!.held)} messages held before resume()`);

    // Same kernel, idle; the terminal survived with its whole output.
    const kernel = await second.api<{ id: string; execution_state: string }>('GET', `api/kernels/${kernelId}`);
    assert.equal(kernel.status, 200);
    assert.equal(kernel.json.execution_state, 'idle');
    const back = await second.socket(`terminals/websocket/${termName}`);
    const backText = terminalText(back);
    await backText.until(/t-50\r?\n/);
    back.close();

    // Clean up through the API.
    assert.equal((await second.api('DELETE', `api/kernels/${kernelId}`)).status, 204);
    assert.equal((await second.api('DELETE', `api/terminals/${termName}`)).status, 204);
    for (const pid of leftovers) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
    second.child.kill('SIGTERM');
    assert.deepEqual(await second.exited, { code: 0, signal: null });
  });

  it('SIGTERM (the hub stopping the server) shuts down kernels and terminals', async (t) => {
    const dirs = tempDirs();
    t.after(() => dirs.remove());
    const lab = await LabProcess.start(dirs, `t-${randomUUID()}`);
    const created = await lab.api<{ kernel: { id: string } }>('POST', 'api/sessions', { path: 'x.ipynb', name: 'x.ipynb', type: 'notebook', kernel: { name: 'python3' } });
    assert.equal(created.status, 201);
    const term = await lab.api<{ name: string }>('POST', 'api/terminals');
    assert.equal(term.status, 200);
    const pids = [...kernelPids(dirs.stateDir), ...(await terminalPids(dirs.stateDir, term.json.name))];
    assert.equal(pids.length, 3);
    for (const pid of pids) leftovers.add(pid);
    assert.ok(pids.every(isAlive));

    lab.child.kill('SIGTERM');
    assert.deepEqual(await lab.exited, { code: 0, signal: null });
    for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} is gone`);
  });
});
