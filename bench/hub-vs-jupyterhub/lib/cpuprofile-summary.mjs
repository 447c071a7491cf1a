#!/usr/bin/env node
// Where the time goes in a V8 .cpuprofile (e.g. from `run.sh --eucp-node-args
// "--cpu-prof --cpu-prof-dir=/tmp/prof"`): self time per function and per package, and
// inclusive time per function (each function counted once per sample).
//
//   node lib/cpuprofile-summary.mjs FILE.cpuprofile [topSelf=30] [topInclusive=60]
import fs from 'node:fs';

const [file, topSelfArg, topInclArg] = process.argv.slice(2);
if (!file) { console.error('usage: cpuprofile-summary.mjs FILE.cpuprofile [topSelf] [topInclusive]'); process.exit(2); }
const prof = JSON.parse(fs.readFileSync(file, 'utf8'));
const nodes = new Map(prof.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

const shortUrl = (u) => u.replace(/^file:\/\/\/.*?\/node_modules\//, 'nm/').replace(/^file:\/\/\/work\/main\//, '');
const frameName = (n) => `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
const bucketOf = (n) => shortUrl(n.callFrame.url).split('/').slice(0, 3).join('/') || n.callFrame.functionName;

const selfUs = new Map();
let totalUs = 0;
prof.samples.forEach((id, i) => { const d = prof.timeDeltas[i] ?? 0; totalUs += d; selfUs.set(id, (selfUs.get(id) ?? 0) + d); });

const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
const selfByFn = new Map(), selfByPkg = new Map(), inclByFn = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  add(selfByFn, frameName(n), us);
  add(selfByPkg, bucketOf(n), us);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parentOf.get(cur)) {
    const k = frameName(nodes.get(cur));
    if (!seen.has(k)) { seen.add(k); add(inclByFn, k, us); }
  }
}
const idleUs = selfByFn.get('(idle) ') ?? 0;
const show = (m, n) => [...m].filter(([k]) => !/^\((idle|root)\)/.test(k)).sort((a, b) => b[1] - a[1]).slice(0, n)
  .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / Math.max(1, totalUs - idleUs)) * 100).toFixed(1).padStart(5)}%  ${k}`).join('\n');
console.log(`profile ${(totalUs / 1000).toFixed(0)} ms, idle ${(idleUs / 1000).toFixed(0)} ms; percentages are of the busy time`);
console.log('\n-- self time by function'); console.log(show(selfByFn, Number(topSelfArg ?? 30)));
console.log('\n-- self time by package / directory'); console.log(show(selfByPkg, 20));
console.log('\n-- inclusive time by function'); console.log(show(inclByFn, Number(topInclArg ?? 60)));
