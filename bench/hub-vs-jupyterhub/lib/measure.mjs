// The client side of the benchmark: the same code measures both hubs through their
// JupyterHub REST API and their /user/<name>/ proxy. A hub adapter (hubs/*.mjs) only
// starts and stops its hub and says where a server listens and which pids are "the hub".
import http from 'node:http';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { CLK_TCK, memoryOf, memorySum, procStat } from './procs.mjs';
import { KernelChannel } from './kernel.mjs';
import { log, ms, pool, request, round, sleep, summarize, tally } from './util.mjs';

const userName = (i) => `u${String(i).padStart(3, '0')}`;

/**
 * Runs every measurement against `hub` (already constructed, not started).
 * `monitor` gets a phase name per step; `abort.signal` stops long loops early.
 */
export async function measureHub(hub, ctx) {
  const R = { hub: hub.key, label: hub.label, lifecycle: {}, spawn: {}, stop: {}, proxy: {}, kernel: {}, memory: {}, api: {}, problems: [] };
  try {
    return await measureInto(R, hub, ctx);
  } catch (e) {
    e.partial = R; // what was measured before the failure goes into the JSON too
    throw e;
  }
}

async function measureInto(R, hub, { opts, monitor, registry, abort, quietGate }) {
  const check = () => { if (abort.aborted) throw new Error('aborted'); };
  // Before each measured phase, optionally wait for the machine to be quiet (other work on a
  // shared machine skews every figure), then start accounting CPU to the phase.
  const phase = async (name) => {
    check();
    if (quietGate) await quietGate(`${hub.label} ${name}`);
    check();
    monitor.setPhase(`${hub.key}:${name}`);
  };

  await phase('startup');
  R.lifecycle.start = await hub.start();
  const base = hub.publicUrl;
  const admin = { authorization: `token ${hub.adminToken}` };
  const api = (method, p, json) => request(method, `${base}/hub/api${p}`, { headers: admin, json });
  log(`${hub.label}: up in ${ms(R.lifecycle.start.startupMs)} ms at ${base}`);
  await sleep(1000); // let start-up work (migrations, first GC) settle before the idle reading
  const hubMemory = () => {
    const p = hub.hubPids();
    const hubM = memoryOf(p.hub);
    const proxyM = p.proxy ? memoryOf(p.proxy) : null;
    const total = memorySum([p.hub, p.proxy].filter(Boolean));
    return { hub: hubM, proxy: proxyM, total: { rssMiB: total.rssMiB, pssMiB: total.pssMiB } };
  };
  R.memory.idle = hubMemory();

  // -- users
  await phase('users');
  const who = await api('GET', '/user');
  if (who.status !== 200) throw new Error(`GET /hub/api/user with the admin token: ${who.status} ${who.text.slice(0, 200)}`);
  const whoami = who.json();
  if (!whoami.admin && !(whoami.roles ?? []).includes('admin')) R.problems.push(`admin token is not admin: ${who.text.slice(0, 200)}`);
  const names = Array.from({ length: opts.users }, (_, i) => userName(i + 1));
  const createMs = [];
  for (const n of names) {
    const r = await api('POST', `/users/${n}`);
    if (r.status !== 201) throw new Error(`POST /hub/api/users/${n}: ${r.status} ${r.text.slice(0, 300)}`);
    createMs.push(r.ms);
  }
  R.api.createUserMs = summarize(createMs);

  // -- spawn latency: POST …/server, then GET /user/<name>/api/status through the proxy until 200
  async function spawnOne(name) {
    const t0 = performance.now();
    const post = await api('POST', `/users/${name}/server`);
    const postMs = performance.now() - t0;
    if (post.status !== 201 && post.status !== 202) throw new Error(`POST /hub/api/users/${name}/server: ${post.status} ${post.text.slice(0, 300)}`);
    const seen = [];
    let lastModelCheck = performance.now();
    for (let polls = 1; ; polls++) {
      check();
      if (performance.now() - lastModelCheck > 1000) {
        // a spawn that failed after POST answered leaves no server in the user model
        lastModelCheck = performance.now();
        const u = await api('GET', `/users/${name}`);
        if (u.status === 200 && Object.keys(u.json().servers ?? {}).length === 0) {
          throw new Error(`${name}: spawn failed after POST …/server answered ${post.status} (no server in the user model; statuses ${seen}); see the hub log`);
        }
      }
      const s = await request('GET', `${base}/user/${name}/api/status`, { headers: admin });
      if (seen.at(-1) !== s.status) seen.push(s.status);
      if (s.status === 200) return { name, postStatus: post.status, postMs: round(postMs, 1), readyMs: round(performance.now() - t0, 1), polls, statuses: seen };
      if (performance.now() - t0 > opts.spawnTimeoutS * 1000) throw new Error(`${name}: /user/${name}/api/status not 200 after ${opts.spawnTimeoutS} s (statuses ${seen})`);
      await sleep(opts.pollMs);
    }
  }
  async function activeServers(list) {
    const r = await api('GET', '/users');
    if (r.status !== 200) throw new Error(`GET /hub/api/users: ${r.status}`);
    return r.json().filter((u) => list.includes(u.name) && Object.keys(u.servers ?? {}).length > 0).map((u) => u.name);
  }
  async function stopServers(list, concurrent) {
    hub.trackAll();
    const pids = Object.fromEntries(await Promise.all(list.map(async (n) => [n, await hub.serverPid(n)])));
    const t0 = performance.now();
    const del = async (n) => { const t = performance.now(); const r = await api('DELETE', `/users/${n}/server`); return { n, status: r.status, ms: r.ms, t }; };
    const dels = concurrent ? await Promise.all(list.map(del)) : [];
    if (!concurrent) for (const n of list) dels.push(await del(n));
    const deletesMs = performance.now() - t0;
    let apiIdleMs = null;
    while (performance.now() - t0 < 120_000) {
      if ((await activeServers(list)).length === 0) { apiIdleMs = performance.now() - t0; break; }
      await sleep(25);
    }
    if (apiIdleMs === null) R.problems.push(`servers still listed 120 s after DELETE (${concurrent ? 'concurrent' : 'sequential'})`);
    let goneMs = null;
    while (performance.now() - t0 < 120_000) {
      if (Object.values(pids).every((p) => !p || !registry.isAlive(p))) { goneMs = performance.now() - t0; break; }
      await sleep(25);
    }
    if (goneMs === null) R.problems.push('server processes still alive 120 s after DELETE');
    return { servers: list.length, concurrent, wallMs: round(performance.now() - t0, 1), deletesReturnedMs: round(deletesMs, 1),
      apiIdleMs: round(apiIdleMs, 1), processesGoneMs: round(goneMs, 1), deleteStatus: tally(dels.map((d) => d.status)),
      deleteMs: summarize(dels.map((d) => d.ms)), serverPidsKnown: Object.values(pids).filter(Boolean).length };
  }

  // CPU seconds the hub (and CHP) spent during a phase
  const cpuMeter = () => {
    const p = hub.hubPids();
    const ticks = (pid) => (pid ? procStat(pid)?.ticks ?? 0 : 0);
    const c0 = { hub: ticks(p.hub), proxy: ticks(p.proxy) };
    return () => ({ hubCpuS: round((ticks(p.hub) - c0.hub) / CLK_TCK, 2), proxyCpuS: p.proxy ? round((ticks(p.proxy) - c0.proxy) / CLK_TCK, 2) : null });
  };

  await phase('spawnSequential');
  log(`${hub.label}: spawning ${names.length} servers one at a time`);
  const seq = [];
  const seqCpu = cpuMeter();
  for (const n of names) seq.push(await spawnOne(n));
  hub.trackAll();
  R.spawn.sequential = { ...seqCpu(), readyMs: summarize(seq.map((s) => s.readyMs)), postMs: summarize(seq.map((s) => s.postMs)), postStatus: tally(seq.map((s) => s.postStatus)), samples: seq };
  log(`${hub.label}: sequential spawn p50 ${ms(R.spawn.sequential.readyMs.p50)} ms, p95 ${ms(R.spawn.sequential.readyMs.p95)} ms`);
  await phase('stopSequential');
  R.stop.sequential = await stopServers(names, false);

  await phase('spawnConcurrent');
  log(`${hub.label}: spawning ${names.length} servers, ${opts.concurrency} at a time`);
  const tc = performance.now();
  const concCpu = cpuMeter();
  const conc = await pool(names, opts.concurrency, spawnOne);
  const wall = performance.now() - tc;
  hub.trackAll();
  R.spawn.concurrent = { ...concCpu(), concurrency: opts.concurrency, readyMs: summarize(conc.map((s) => s.readyMs)), postMs: summarize(conc.map((s) => s.postMs)),
    postStatus: tally(conc.map((s) => s.postStatus)), wallMs: round(wall, 1), serversPerS: round(names.length / (wall / 1000), 2), samples: conc };
  log(`${hub.label}: concurrent spawn p50 ${ms(R.spawn.concurrent.readyMs.p50)} ms, p95 ${ms(R.spawn.concurrent.readyMs.p95)} ms, wall ${ms(wall)} ms`);
  await sleep(1000);
  R.memory.withServers = hubMemory();
  {
    const pids = (await Promise.all(names.map((n) => hub.serverPid(n)))).filter(Boolean);
    const s = memorySum(pids);
    R.memory.singleUserServers = { count: s.pids.length, totalRssMiB: s.rssMiB, totalPssMiB: s.pssMiB, one: s.parts[1] ?? s.parts[0] ?? null };
  }

  // -- proxy overhead: the same request through the proxy and straight to the server
  await phase('proxy');
  const [uA, uB] = [names[0], names[1] ?? names[0]];
  const tokenFor = async (u) => {
    const r = await api('POST', `/users/${u}/tokens`, { note: 'hub-vs-jupyterhub', expires_in: 3600 });
    if (r.status !== 201 && r.status !== 200) throw new Error(`POST /hub/api/users/${u}/tokens: ${r.status} ${r.text.slice(0, 200)}`);
    return r.json().token;
  };
  const tokA = await tokenFor(uA);
  const target = (await hub.serverTarget(uA)).replace(/\/+$/, '');
  const userAuth = { authorization: `token ${tokA}` };
  const viaProxy = `${base}/user/${uA}/api/status`;
  const direct = `${target}/user/${uA}/api/status`;
  const proxyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const directAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 50; i++) {
    await request('GET', viaProxy, { headers: userAuth, agent: proxyAgent });
    await request('GET', direct, { headers: userAuth, agent: directAgent });
  }
  const pLat = [], dLat = [];
  const statuses = [];
  const proxyCpu = cpuMeter();
  for (let i = 0; i < opts.proxyRequests; i++) {
    check();
    // alternate, so that drift on the machine affects both series alike
    const a = await request('GET', viaProxy, { headers: userAuth, agent: proxyAgent });
    const b = await request('GET', direct, { headers: userAuth, agent: directAgent });
    statuses.push(a.status, b.status);
    pLat.push(a.ms); dLat.push(b.ms);
  }
  proxyAgent.destroy(); directAgent.destroy();
  const ps = summarize(pLat), ds = summarize(dLat);
  R.proxy = { user: uA, target, targetSource: hub.targetSource ?? null, requests: opts.proxyRequests, statuses: tally(statuses), viaProxyMs: ps, directMs: ds,
    // per pair (request i through the proxy minus request i direct): less sensitive to tails of either series
    pairedOverheadMs: summarize(pLat.map((x, i) => x - dLat[i])), cpu: proxyCpu(),
    overheadP50Ms: round(ps.p50 - ds.p50, 3), overheadP99Ms: round(ps.p99 - ds.p99, 3), overheadMeanMs: round(ps.mean - ds.mean, 3) };
  if (statuses.some((s) => s !== 200)) R.problems.push(`proxy test: statuses ${JSON.stringify(tally(statuses))}`);
  log(`${hub.label}: status via proxy p50 ${ms(ps.p50)} ms vs direct ${ms(ds.p50)} ms`);

  // -- kernel round trip over the proxied websocket (and straight to the server)
  await phase('kernel');
  async function openKernel(user, token) {
    const t0 = performance.now();
    const r = await request('POST', `${base}/user/${user}/api/kernels`, { headers: { authorization: `token ${token}` }, json: { name: 'python3' } });
    if (r.status !== 201) throw new Error(`POST /user/${user}/api/kernels: ${r.status} ${r.text.slice(0, 200)}`);
    const id = r.json().id;
    const ch = new KernelChannel(`${base.replace('http:', 'ws:')}/user/${user}/api/kernels/${id}/channels?session_id=${crypto.randomUUID()}`, token);
    const wsOpenMs = await ch.open();
    await ch.waitReady();
    return { id, ch, wsOpenMs: round(wsOpenMs, 1), readyMs: round(performance.now() - t0, 1) };
  }
  async function timeExecutes(ch) {
    for (let i = 0; i < 10; i++) await ch.execute('1+1');
    const xs = [];
    for (let i = 0; i < opts.kernelIters; i++) { check(); xs.push(await ch.execute('1+1')); }
    return { executeReplyMs: summarize(xs.map((x) => x.replyMs)), executeResultMs: summarize(xs.map((x) => x.resultMs)), idleMs: summarize(xs.map((x) => x.idleMs)),
      errors: xs.filter((x) => x.status !== 'ok').length, wrongResults: xs.filter((x) => x.result !== '2').length };
  }
  const kA = await openKernel(uA, tokA);
  hub.trackAll();
  const viaK = await timeExecutes(kA.ch);
  const dch = new KernelChannel(`${target.replace('http:', 'ws:')}/user/${uA}/api/kernels/${kA.id}/channels?session_id=${crypto.randomUUID()}`, tokA);
  await dch.open();
  await dch.waitReady();
  const directK = await timeExecutes(dch);
  dch.close();
  kA.ch.close();
  R.kernel = { user: uA, start: { wsOpenMs: kA.wsOpenMs, readyMs: kA.readyMs }, iterations: opts.kernelIters, viaProxy: viaK, direct: directK };
  if (viaK.errors || viaK.wrongResults || directK.errors || directK.wrongResults) R.problems.push(`kernel: ${JSON.stringify({ viaK: [viaK.errors, viaK.wrongResults], directK: [directK.errors, directK.wrongResults] })}`);
  log(`${hub.label}: execute 1+1 via proxy p50 ${ms(viaK.executeReplyMs.p50)} ms, p99 ${ms(viaK.executeReplyMs.p99)} ms; direct p50 ${ms(directK.executeReplyMs.p50)} ms`);
  R.memory.oneServerIdle = memoryOf(await hub.serverPid(uB));

  // -- API throughput: GET /hub/api/users with opts.apiUsers users
  await phase('api');
  const extra = Array.from({ length: Math.max(0, opts.apiUsers - names.length) }, (_, i) => userName(names.length + i + 1));
  if (extra.length) {
    const r = await api('POST', '/users', { usernames: extra });
    if (r.status !== 201) throw new Error(`POST /hub/api/users (bulk ${extra.length}): ${r.status} ${r.text.slice(0, 300)}`);
    R.api.bulkCreate = { users: extra.length, ms: round(r.ms, 1) };
  }
  const listUrl = `${base}/hub/api/users`;
  const one = await request('GET', listUrl, { headers: admin });
  const listed = one.json();
  R.api.usersList = { users: listed.length, bytes: one.bytes, ms: round(one.ms, 1), withServer: listed.filter((u) => Object.keys(u.servers ?? {}).length).length,
    sampleKeys: Object.keys(listed[0] ?? {}).sort(),
    // one user model with a running server, as listed (to compare what each hub returns per user)
    sampleWithServer: listed.find((u) => u.name === uA) ?? null };
  if (listed.length < opts.apiUsers) R.problems.push(`GET /hub/api/users returned ${listed.length} users, expected >= ${opts.apiUsers}`);
  const withCpu = async (fn) => {
    const p = hub.hubPids();
    const ticks = (pid) => (pid ? procStat(pid)?.ticks ?? 0 : 0);
    const c0 = { hub: ticks(p.hub), proxy: ticks(p.proxy), t: performance.now() };
    const r = await fn();
    const el = (performance.now() - c0.t) / 1000;
    r.hubCpuPct = round(((ticks(p.hub) - c0.hub) / CLK_TCK / el) * 100, 1);
    if (p.proxy) r.proxyCpuPct = round(((ticks(p.proxy) - c0.proxy) / CLK_TCK / el) * 100, 1);
    return r;
  };
  const wrk = (url) => new Promise((resolve, reject) => {
    const child = spawn('wrk', ['-t2', `-c${opts.apiClients}`, `-d${opts.apiDuration}s`, '--latency', '-H', `Authorization: token ${hub.adminToken}`, url], { stdio: ['ignore', 'pipe', 'pipe'] });
    registry.track(child.pid, 'client');
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const g = (re) => re.exec(out)?.[1] ?? null;
      const unit = (s) => { const m = s && /([\d.]+)(us|ms|s)\b/.exec(s); return m ? Number(m[1]) * { us: 1e-3, ms: 1, s: 1000 }[m[2]] : null; };
      if (code !== 0 || !g(/Requests\/sec:\s+([\d.]+)/)) { reject(new Error(`wrk failed (${code}): ${out.slice(0, 500)}`)); return; }
      resolve({ tool: `wrk -t2 -c${opts.apiClients} -d${opts.apiDuration}s`, rps: Number(g(/Requests\/sec:\s+([\d.]+)/)), requests: Number(g(/(\d+) requests in/)),
        non2xx: Number(g(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0), socketErrors: g(/(Socket errors:[^\n]+)/),
        latencyP50Ms: round(unit(g(/\s50%\s+(\S+)/)), 2), latencyP99Ms: round(unit(g(/\s99%\s+(\S+)/)), 2) });
    });
  });
  const nodeLoop = async (url) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: opts.apiClients });
    const lat = [];
    let ok = 0, bad = 0;
    const t0 = performance.now();
    const end = t0 + opts.apiDuration * 1000;
    await Promise.all(Array.from({ length: opts.apiClients }, async () => {
      while (performance.now() < end && !abort.aborted) {
        const r = await request('GET', url, { headers: admin, agent });
        if (r.status === 200) ok++; else bad++;
        lat.push(r.ms);
      }
    }));
    agent.destroy();
    const s = summarize(lat);
    return { tool: `node keep-alive loop, ${opts.apiClients} clients`, rps: round(ok / ((performance.now() - t0) / 1000), 1), requests: ok + bad, non2xx: bad,
      latencyP50Ms: round(s.p50, 2), latencyP99Ms: round(s.p99, 2) };
  };
  log(`${hub.label}: GET /hub/api/users (${listed.length} users, ${one.bytes} B), ${opts.apiClients} clients x ${opts.apiDuration} s`);
  R.api.throughput = { users: listed.length, clients: opts.apiClients, durationS: opts.apiDuration };
  R.api.throughput.wrk = await withCpu(() => wrk(listUrl));
  if (hub.hubDirectUrl && hub.hubDirectUrl !== base) R.api.throughput.wrkDirectToHub = await withCpu(() => wrk(`${hub.hubDirectUrl}/hub/api/users`));
  R.api.throughput.nodeLoop = await withCpu(() => nodeLoop(listUrl));
  for (const k of ['wrk', 'wrkDirectToHub', 'nodeLoop']) {
    const t = R.api.throughput[k];
    if (t && (t.non2xx || t.socketErrors)) R.problems.push(`API load (${k}): non-2xx ${t.non2xx}, ${t.socketErrors ?? 'no socket errors'}`);
  }
  log(`${hub.label}: ${R.api.throughput.wrk.rps} req/s (wrk), ${R.api.throughput.nodeLoop.rps} req/s (node loop)`);
  await sleep(1000);
  R.memory.afterLoad = hubMemory();

  // -- stop everything
  await phase('stopAll');
  R.stop.concurrent = await stopServers(names, true);
  await phase('shutdown');
  R.lifecycle.shutdown = await hub.stop();
  return R;
}
