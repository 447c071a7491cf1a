import path from 'node:path';
import type { Command } from 'commander';
import { generateDemoData, type DemoProfile } from '@eucp/hub/demo-data/index';

/** `eucp data generate [--profile tiny|default] [--out DIR]` */
export function register(program: Command): void {
  const data = program.command('data').description('climate data in the cache');
  data
    .command('generate')
    .description('write the EUCP-SYN demo data set (deterministic)')
    .option('--profile <name>', 'tiny | default', 'default')
    .option('--out <dir>', 'output directory (default: <EUCP_STATE_DIR>/data)')
    .action(async (opts: { profile: string; out?: string }) => {
      const out = opts.out ?? path.join(process.env.EUCP_STATE_DIR ?? '.eucp', 'data');
      const started = Date.now();
      const r = await generateDemoData({ profile: opts.profile as DemoProfile, outDir: path.resolve(out) });
      process.stdout.write(`wrote ${r.files} files (${(r.bytes / 1024 / 1024).toFixed(1)} MiB) to ${r.outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    });
}
