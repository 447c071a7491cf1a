#!/usr/bin/env node
/**
 * Composition root of the lab server: the only place that reads the environment and
 * picks implementations. Under a hub it follows the JupyterHub single-user contract;
 * alone it serves `--root` with a token:
 *
 *   node packages/lab/dist/main.js --root ~/work --port 8888
 */
import { mkdirSync } from 'node:fs';
import { pino } from 'pino';
import { readStartup } from './config.js';
import { startLab } from './server.js';

async function main(): Promise<void> {
  const startup = readStartup(process.argv.slice(2), process.env);
  mkdirSync(startup.config.stateDir, { recursive: true, mode: 0o700 });
  if (startup.config.runtimeDir) mkdirSync(startup.config.runtimeDir, { recursive: true, mode: 0o700 });
  const log = pino({ level: process.env.EUCP_LAB_LOG_LEVEL ?? 'info', redact: ['*.token', '*.apiToken', 'req.headers.authorization', 'req.headers.cookie'] });
  const lab = await startLab(startup, log);
  const url = `http://${startup.host.includes(':') ? `[${startup.host}]` : startup.host}:${lab.port}${startup.config.baseUrl}`;
  // The token is the user's own secret on their own terminal, printed like `jupyter server` does.
  process.stdout.write(`EUCP lab server running at ${url}${lab.token ? `lab?token=${lab.token}` : ''}\n`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    void lab.close({ keepKernels: false }).then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`eucp lab: ${err.message}\n`);
  process.exit(1);
});
