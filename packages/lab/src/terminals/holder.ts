/**
 * Terminal holder: a small standalone program, one per terminal, started detached by
 * `LocalTerminalManager` so that the shell and its screen state outlive the lab server.
 *
 * `node holder.js '<HolderConfig JSON>'` (fd 3: a pipe on which it reports readiness as
 * one JSON line `{"ok":true}` or `{"ok":false,"error":…}`, then closes it).
 *
 * It owns the PTY, mirrors every byte into a headless xterm so it can serialize the exact
 * screen with its scrollback, persists that to `<name>.state` (throttled, and finally on
 * exit; atomic writes) and serves the framed protocol of `protocol.ts` on `<name>.sock`
 * (mode 0600). When the shell exits it writes the final state, removes its socket and
 * exits. stderr (a log file chosen by the manager) receives its few log lines.
 */
import { closeSync, mkdirSync, writeSync, unlinkSync, chmodSync, writeFileSync, renameSync, openSync, fsyncSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { basename } from 'node:path';
import pty from 'node-pty';
import xterm from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import {
  FrameDecoder,
  clientMessageSchema,
  encodeFrame,
  holderConfigSchema,
  terminalPaths,
  type ClientMessage,
  type HolderConfig,
  type HolderMessage,
  type StateFile,
} from './protocol.js';
import { foregroundBusy, sessionPids } from './procfs.js';

/** The state is saved once output has been quiet this long… */
const SAVE_QUIET_MS = 500;
/** …or at the latest this long after the first unsaved output (serializing costs ~0.2 s). */
const SAVE_MAX_WAIT_MS = 5000;
/** Bytes queued for one client above which the PTY is paused until that client drains. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Longest time an `activity` notice lags behind the activity. */
const ACTIVITY_INTERVAL_MS = 1000;
/** Grace between SIGHUP and SIGKILL when the terminal is killed. */
const KILL_GRACE_MS = 2000;

interface Peer {
  socket: Socket;
  attached: boolean;
  output: boolean;
  /** Output received while this peer's replay is being prepared. */
  pending: string[] | null;
  size: { rows: number; cols: number } | null;
}

function log(message: string): void {
  process.stderr.write(`${new Date().toISOString()} holder ${process.pid}: ${message}\n`);
}

function reportReady(result: { ok: true } | { ok: false; error: string }): void {
  try {
    writeSync(3, `${JSON.stringify(result)}\n`);
    closeSync(3);
  } catch {
    // No readiness pipe (started by hand): nothing to report to.
  }
}

/** The shell's environment: ours (the manager's choice) plus the terminal's own. */
function shellEnv(config: HolderConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
  // Set by node's test runner for its children; it must not leak into user programs.
  delete env.NODE_TEST_CONTEXT;
  Object.assign(env, {
    TERM: 'xterm-256color',
    COLUMNS: String(config.cols),
    LINES: String(config.rows),
    SHELL: config.shell,
    PWD: config.cwd,
  });
  return env;
}

/** Login-ish: shells that know `-l` read the user's profile like a login terminal. */
function shellArgs(shell: string): string[] {
  return ['bash', 'zsh', 'sh', 'dash', 'ksh', 'fish'].includes(basename(shell)) ? ['-l'] : [];
}

function run(config: HolderConfig): void {
  const paths = terminalPaths(config.stateDir, config.name);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const createdAt = Date.now();
  let lastActivity = createdAt;
  let rows = config.rows;
  let cols = config.cols;

  const screen = new xterm.Terminal({ rows, cols, scrollback: config.scrollback, allowProposedApi: true });
  const serializer = new SerializeAddon();
  screen.loadAddon(serializer as unknown as xterm.ITerminalAddon);
  /** Resolves once everything written to the screen so far has been parsed. */
  const flushed = (): Promise<void> => new Promise((resolve) => screen.write('', resolve));
  const serialize = (): string => serializer.serialize({ scrollback: config.scrollback });

  const proc = pty.spawn(config.shell, shellArgs(config.shell), {
    name: 'xterm-256color',
    rows,
    cols,
    cwd: config.cwd,
    env: shellEnv(config),
  });
  const shellPid = proc.pid;
  const peers = new Set<Peer>();
  let exiting = false;

  const send = (peer: Peer, message: HolderMessage): void => {
    if (!peer.socket.destroyed) peer.socket.write(encodeFrame(message));
  };

  // Flow control: when the screen mirror or a client cannot keep up, the PTY is paused (as
  // a slow real terminal would be) instead of the holder's memory growing without bound.
  let screenBacklog = 0;
  let paused = false;
  const regulate = (): void => {
    const over =
      screenBacklog > HIGH_WATER_BYTES ||
      [...peers].some((p) => !p.socket.destroyed && p.socket.writableLength > HIGH_WATER_BYTES);
    if (over !== paused) {
      paused = over;
      if (over) proc.pause();
      else proc.resume();
    }
  };

  // --- state on disk -------------------------------------------------------------------
  const stateOf = (exit: StateFile['exit']): StateFile => ({
    version: 1, name: config.name, createdAt, lastActivity, rows, cols, exit, data: serialize(),
  });
  let saveTimer: NodeJS.Timeout | null = null;
  let unsavedSince = 0;
  let lastOutput = 0;
  let saving: Promise<void> = Promise.resolve();
  const saveAsync = async (): Promise<void> => {
    await flushed();
    if (exiting) return;
    const tmp = `${paths.state}.${process.pid}.tmp`;
    const file = await open(tmp, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify(stateOf(null)));
      await file.sync();
    } finally {
      await file.close();
    }
    if (exiting) await rm(tmp, { force: true });
    else await rename(tmp, paths.state);
  };
  /** Debounced save: when output pauses, and at least every SAVE_MAX_WAIT_MS while it flows. */
  const scheduleSave = (): void => {
    lastOutput = Date.now();
    if (saveTimer || exiting) return;
    unsavedSince = lastOutput;
    const due = (): void => {
      const now = Date.now();
      const wait = Math.min(lastOutput + SAVE_QUIET_MS, unsavedSince + SAVE_MAX_WAIT_MS) - now;
      if (wait > 0) {
        saveTimer = setTimeout(due, wait);
        return;
      }
      saveTimer = null;
      saving = saving.then(saveAsync).catch((err: unknown) => log(`saving state failed: ${String(err)}`));
    };
    saveTimer = setTimeout(due, SAVE_QUIET_MS);
  };
  const saveFinal = (exit: NonNullable<StateFile['exit']>): void => {
    const tmp = `${paths.state}.${process.pid}.final.tmp`;
    writeFileSync(tmp, JSON.stringify(stateOf(exit)), { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, paths.state);
  };

  // --- activity --------------------------------------------------------------------------
  let activityTimer: NodeJS.Timeout | null = null;
  const touch = (): void => {
    lastActivity = Date.now();
    if (activityTimer) return;
    activityTimer = setTimeout(() => {
      activityTimer = null;
      for (const peer of peers) if (peer.attached) send(peer, { type: 'activity', at: lastActivity });
    }, ACTIVITY_INTERVAL_MS);
  };

  proc.onData((data) => {
    screenBacklog += data.length;
    screen.write(data, () => {
      screenBacklog -= data.length;
      if (paused) regulate();
    });
    for (const peer of peers) {
      if (peer.pending) peer.pending.push(data);
      else if (peer.output) send(peer, { type: 'output', data });
    }
    regulate();
    touch();
    scheduleSave();
  });

  // --- size: the smallest of the clients that told theirs -------------------------------
  const applySize = (): void => {
    const sized = [...peers].flatMap((p) => (p.size ? [p.size] : []));
    if (!sized.length || exiting) return;
    const r = Math.min(...sized.map((s) => s.rows));
    const c = Math.min(...sized.map((s) => s.cols));
    if (r === rows && c === cols) return;
    rows = r;
    cols = c;
    proc.resize(cols, rows);
    screen.resize(cols, rows);
  };

  // --- kill: the whole session of the shell (its jobs included) ---------------------------
  const signalAll = (signal: NodeJS.Signals): void => {
    const pids = new Set([shellPid, ...sessionPids(shellPid)]);
    for (const pid of pids) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
    try {
      process.kill(-shellPid, signal);
    } catch {
      // No such group any more.
    }
  };
  let killTimer: NodeJS.Timeout | null = null;
  const kill = (): void => {
    if (killTimer || exiting) return;
    log('killing the terminal session');
    signalAll('SIGHUP');
    killTimer = setTimeout(() => signalAll('SIGKILL'), KILL_GRACE_MS);
  };

  // --- socket ----------------------------------------------------------------------------
  const handle = (peer: Peer, message: ClientMessage): void => {
    switch (message.type) {
      case 'attach': {
        if (peer.attached) return;
        peer.attached = true;
        if (!message.replay) {
          peer.output = message.output;
          return;
        }
        peer.pending = [];
        void flushed().then(() => {
          send(peer, { type: 'state', data: serialize() });
          for (const data of peer.pending ?? []) if (message.output) send(peer, { type: 'output', data });
          peer.pending = null;
          peer.output = message.output;
        });
        return;
      }
      case 'input':
        if (exiting) return;
        proc.write(message.data);
        touch();
        return;
      case 'resize':
        peer.size = { rows: message.rows, cols: message.cols };
        applySize();
        return;
      case 'kill':
        kill();
        return;
      case 'status': {
        const fg = proc.process;
        const busy = foregroundBusy(shellPid) ?? (fg !== '' && fg !== basename(config.shell));
        send(peer, { type: 'status', busy, process: fg });
        return;
      }
    }
  };

  const server = createServer((socket) => {
    const peer: Peer = { socket, attached: false, output: false, pending: null, size: null };
    const decoder = new FrameDecoder(clientMessageSchema);
    peers.add(peer);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of decoder.push(chunk)) handle(peer, message);
      } catch (err) {
        log(`dropping a client that sent a bad frame: ${String(err)}`);
        socket.destroy();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => paused && regulate());
    socket.on('close', () => {
      peers.delete(peer);
      applySize();
      if (paused) regulate();
    });
    send(peer, { type: 'info', name: config.name, holderPid: process.pid, shellPid, createdAt, lastActivity, rows, cols });
  });

  proc.onExit(({ exitCode, signal }) => {
    void (async () => {
      log(`shell exited (code ${exitCode}, signal ${signal ?? 'none'})`);
      await saving;
      await flushed();
      exiting = true;
      for (const timer of [saveTimer, activityTimer, killTimer]) if (timer) clearTimeout(timer);
      const exit = { exitCode, signal: signal ?? null };
      try {
        saveFinal(exit);
      } catch (err) {
        log(`saving the final state failed: ${String(err)}`);
      }
      server.close();
      try {
        unlinkSync(paths.socket);
      } catch {
        // Already removed.
      }
      const closing = [...peers].map(
        (peer) =>
          new Promise<void>((resolve) => {
            if (peer.attached) send(peer, { type: 'exit', ...exit });
            peer.socket.end(resolve);
          }),
      );
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref());
      await Promise.race([Promise.all(closing), deadline]);
      screen.dispose();
      process.exit(0);
    })();
  });

  process.on('SIGTERM', kill);
  process.on('SIGINT', kill);
  process.on('SIGHUP', () => undefined);
  // Better a logged glitch than a lost terminal: the shell and its job live on.
  process.on('uncaughtException', (err) => log(`unexpected error: ${err.stack ?? String(err)}`));

  try {
    unlinkSync(paths.socket);
  } catch {
    // No stale socket.
  }
  const previousUmask = process.umask(0o177);
  server.once('error', (err) => {
    reportReady({ ok: false, error: `cannot listen on ${paths.socket}: ${err.message}` });
    signalAll('SIGKILL');
    process.exit(1);
  });
  server.listen(paths.socket, () => {
    process.umask(previousUmask);
    chmodSync(paths.socket, 0o600);
    log(`terminal ${config.name} ready: shell ${shellPid} on ${paths.socket}`);
    reportReady({ ok: true });
  });
}

/** True if some process accepts connections on the unix socket `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

async function main(): Promise<void> {
  const config = holderConfigSchema.parse(JSON.parse(process.argv[2] ?? ''));
  // Never steal the socket of a live holder (two lab servers on one state directory).
  if (await answers(terminalPaths(config.stateDir, config.name).socket)) {
    throw new Error(`terminal ${config.name} is already running`);
  }
  run(config);
}

main().catch((err: unknown) => {
  log(`failed to start: ${String(err)}`);
  reportReady({ ok: false, error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
