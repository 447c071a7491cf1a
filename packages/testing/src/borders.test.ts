/**
 * The package borders of docs/architecture.md, checked on every import of shipped code:
 * core imports nothing of ours and does no I/O; the hub never imports the CLI, the web UI
 * or test code; nothing shipped imports @eucp/testing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './hub-process.js';

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]!);
}

const FORBIDDEN: Record<string, RegExp> = {
  core: /^(@eucp\/|node:(fs|child_process|net|http|https|dgram)|fs$|child_process$)/,
  hub: /^@eucp\/(cli|web|testing|lab)/,
  lab: /^@eucp\/(hub|cli|web|testing)/,
  cli: /^@eucp\/(web|testing)/,
  web: /^@eucp\//,
};

describe('package borders', () => {
  for (const [pkg, forbidden] of Object.entries(FORBIDDEN)) {
    it(`${pkg} imports nothing it must not`, () => {
      const offences: string[] = [];
      for (const file of sources(path.join(REPO_ROOT, 'packages', pkg, 'src'))) {
        for (const spec of imports(file)) {
          if (forbidden.test(spec)) offences.push(`${path.relative(REPO_ROOT, file)} imports ${spec}`);
        }
      }
      assert.deepEqual(offences, []);
    });
  }
});
