// /proc helpers: process identity (pid + start time, so a recycled pid is never signalled),
// memory (VmRSS, PSS), process trees, and a 1 Hz monitor of the CPU other work uses.
import fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { kibToMiB, round, sleep } from './util.mjs';

export const CLK_TCK = (() => {
  try { return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100; } catch { return 100; }
})();

/** state, ppid, start time (ticks since boot) and user+system CPU ticks of `pid`, or null. */
export function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), start: f[19], ticks: Number(f[11]) + Number(f[12]) };
  } catch {
    return null;
  }
}

export function cmdline(pid) {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' '); } catch { return ''; }
}

/** Real uid of `pid`, or null if it is gone. */
export function uidOf(pid) {
  try {
    const m = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export function allPids() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
}

/** Every pid below `root` in the process tree (not `root` itself). */
export function descendants(root) {
  const kids = new Map();
  for (const pid of allPids()) {
    const st = procStat(pid);
    if (!st) continue;
    if (!kids.has(st.ppid)) kids.set(st.ppid, []);
    kids.get(st.ppid).push(pid);
  }
  const out = [];
  const queue = [root];
  while (queue.length) for (const c of kids.get(queue.shift()) ?? []) { out.push(c); queue.push(c); }
  return out;
}

/** VmRSS and, if readable, PSS and USS of `pid` (KiB and MiB), or null if it is gone. */
export function memoryOf(pid) {
  if (!pid) return null;
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    let pssKiB = null;
    let ussKiB = null;
    try {
      const r = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? 0);
      pssKiB = field('Pss');
      ussKiB = field('Private_Clean') + field('Private_Dirty');
    } catch { /* not permitted */ }
    return { pid, rssKiB, pssKiB, ussKiB, rssMiB: kibToMiB(rssKiB), pssMiB: kibToMiB(pssKiB), ussMiB: kibToMiB(ussKiB) };
  } catch {
    return null;
  }
}

/** Sums memoryOf over several pids (missing ones are skipped). */
export function memorySum(pids) {
  const parts = pids.map(memoryOf).filter(Boolean);
  const sum = (k) => parts.reduce((s, p) => s + (p[k] ?? 0), 0);
  return { pids: parts.map((p) => p.pid), rssMiB: kibToMiB(sum('rssKiB')), pssMiB: kibToMiB(sum('pssKiB')), parts };
}

/**
 * The processes this run started, directly or through a hub, each remembered with its
 * start time. Only these (and processes of this run's own Unix accounts, see
 * `extraOwned`) are ever signalled.
 */
export class ProcessRegistry {
  constructor() {
    this.known = new Map(); // pid -> { start, cmd, owner }
    /** Functions returning further pids that belong to this run (e.g. by uid). */
    this.extraOwned = [];
  }

  track(pid, owner) {
    const st = procStat(pid);
    if (!st || this.known.has(pid)) return;
    this.known.set(pid, { start: st.start, cmd: cmdline(pid).slice(0, 200), owner });
  }

  /** Tracks `root` and everything currently below it. */
  trackTree(root, owner) {
    if (!this.isAlive(root)) return;
    this.track(root, owner);
    for (const p of descendants(root)) this.track(p, owner);
  }

  /** Alive and, if tracked, still the same process (not a recycled pid); zombies count as gone. */
  isAlive(pid) {
    const st = procStat(pid);
    if (!st || st.state === 'Z') return false;
    const t = this.known.get(pid);
    return !t || t.start === st.start;
  }

  alive(owner) {
    return [...this.known.entries()].filter(([pid, t]) => (!owner || t.owner === owner) && this.isAlive(pid)).map(([pid]) => pid);
  }

  /**
   * SIGTERM, then after `graceMs` SIGKILL, to every live tracked pid of `owner` plus
   * `extra` pids (already vetted by the caller). Returns what had to be signalled.
   */
  async terminate(owner, extra = [], graceMs = 3000) {
    const targets = [...new Set([...this.alive(owner), ...extra])];
    const signalled = [];
    for (const pid of targets) {
      try { process.kill(pid, 'SIGTERM'); signalled.push({ pid, cmd: (this.known.get(pid)?.cmd ?? cmdline(pid)).slice(0, 120) }); } catch { /* gone */ }
    }
    if (signalled.length) {
      const until = performance.now() + graceMs;
      while (performance.now() < until && targets.some((p) => this.isAlive(p))) await sleep(100);
      for (const pid of targets) if (this.isAlive(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await sleep(200);
    }
    return { signalled, stillAlive: targets.filter((p) => this.isAlive(p)) };
  }
}

function cpuTotals() {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { idle: f[3] + (f[4] ?? 0), total: f.reduce((a, b) => a + b, 0) };
}

/** Share (%) of all CPUs that were busy during the next `windowMs`. */
export async function machineBusyPct(windowMs = 3000) {
  const a = cpuTotals();
  await sleep(windowMs);
  const b = cpuTotals();
  return round((1 - (b.idle - a.idle) / Math.max(1, b.total - a.total)) * 100, 1);
}

/**
 * Once a second, splits the CPU ticks of every process into "this run" (this node
 * process, its descendants, the registry's pids and whatever `registry.extraOwned`
 * claims) and "foreign" (all else except kernel threads), per named phase. Processes
 * that live less than a second are missed, so foreign CPU is a lower bound; the
 * machine-wide busy share from /proc/stat is recorded alongside.
 */
export class CpuMonitor {
  constructor(registry) {
    this.registry = registry;
    this.phase = 'setup';
    this.phases = {};
    this.prev = null;
    this.timer = null;
  }

  sample() {
    const now = performance.now();
    const snap = new Map();
    for (const pid of allPids()) { const st = procStat(pid); if (st) snap.set(pid, st); }
    const kids = new Map();
    for (const [pid, st] of snap) { if (!kids.has(st.ppid)) kids.set(st.ppid, []); kids.get(st.ppid).push(pid); }
    const ours = new Set([process.pid, ...this.registry.known.keys()]);
    for (const f of this.registry.extraOwned) for (const p of f()) ours.add(p);
    const queue = [...ours];
    while (queue.length) for (const c of kids.get(queue.shift()) ?? []) if (!ours.has(c)) { ours.add(c); queue.push(c); }
    const totals = cpuTotals();
    if (this.prev) {
      const ph = (this.phases[this.phase] ??= { seconds: 0, oursTicks: 0, foreignTicks: 0, busyTicks: 0, allTicks: 0, foreignBy: {} });
      ph.seconds += (now - this.prev.at) / 1000;
      ph.busyTicks += (totals.total - totals.idle) - (this.prev.totals.total - this.prev.totals.idle);
      ph.allTicks += totals.total - this.prev.totals.total;
      for (const [pid, st] of snap) {
        if (pid === 2 || st.ppid === 2) continue; // kernel threads
        const before = this.prev.snap.get(pid);
        const d = before && before.start === st.start ? st.ticks - before.ticks : st.ticks;
        if (d <= 0) continue;
        if (ours.has(pid)) ph.oursTicks += d;
        else {
          ph.foreignTicks += d;
          const name = cmdline(pid).slice(0, 70) || `pid ${pid}`;
          ph.foreignBy[name] = (ph.foreignBy[name] ?? 0) + d;
        }
      }
    }
    this.prev = { at: now, snap, totals };
  }

  start() { this.sample(); this.timer = setInterval(() => this.sample(), 1000); this.timer.unref(); }

  setPhase(name) { this.sample(); this.phase = name; }

  /** Per phase and overall: % of one core used by this run and by everything else. */
  report() {
    if (this.timer) { clearInterval(this.timer); this.timer = null; this.sample(); }
    const pct = (ticks, s) => round((ticks / CLK_TCK / Math.max(s, 1e-9)) * 100, 1);
    const phases = {};
    let sec = 0, ours = 0, foreign = 0;
    for (const [name, ph] of Object.entries(this.phases)) {
      if (ph.seconds < 0.05) continue;
      const top = Object.entries(ph.foreignBy).filter(([, t]) => t / CLK_TCK >= 0.1).sort((a, b) => b[1] - a[1]).slice(0, 3)
        .map(([c, t]) => `${c} (${round(t / CLK_TCK, 1)} s)`);
      phases[name] = { seconds: round(ph.seconds, 1), oursCpuPct: pct(ph.oursTicks, ph.seconds), foreignCpuPct: pct(ph.foreignTicks, ph.seconds),
        machineBusyPct: round((ph.busyTicks / Math.max(1, ph.allTicks)) * 100, 1), topForeign: top };
      sec += ph.seconds; ours += ph.oursTicks; foreign += ph.foreignTicks;
    }
    return {
      unit: '% of one core (100 = one full core), averaged per phase; foreign is a lower bound',
      oursCpuPct: pct(ours, sec), foreignCpuPct: pct(foreign, sec),
      worstPhaseForeignCpuPct: Math.max(0, ...Object.values(phases).map((p) => p.foreignCpuPct ?? 0)),
      phases,
    };
  }
}
