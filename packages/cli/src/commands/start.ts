import type { Command } from 'commander';
import { startHub } from '@eucp/hub/main';

/** `eucp start [--ip ADDR] [--port N] [--config FILE]` */
export function register(program: Command): void {
  program
    .command('start')
    .description('serve the hub (state in EUCP_STATE_DIR, default ./.eucp)')
    .option('--ip <addr>', 'address to listen on')
    .option('--port <n>', 'port to listen on (0 = any free port)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--port ${v}: use a number from 0 to 65535`);
      return n;
    })
    .option('--config <file>', 'TOML configuration file')
    .action(async (opts: { ip?: string; port?: number; config?: string }) => {
      const flags: Record<string, unknown> = {};
      if (opts.ip !== undefined) flags.ip = opts.ip;
      if (opts.port !== undefined) flags.port = opts.port;
      await startHub({ configFile: opts.config, flags });
    });
}
