import { z } from 'zod';
import { configSchema } from './schema.js';
import { envName, schemaLeaves, unwrap } from './load.js';

function typeName(t: z.ZodType): string {
  const u = unwrap(t);
  if (u instanceof z.ZodEnum) return u.options.map((o) => `\`${String(o)}\``).join(' \\| ');
  if (u instanceof z.ZodNumber) return 'number';
  if (u instanceof z.ZodBoolean) return 'boolean';
  if (u instanceof z.ZodString) return 'string';
  if (u instanceof z.ZodArray) return 'array';
  if (u instanceof z.ZodRecord) return 'table';
  return 'value';
}

/** Renders docs/configuration.md from the schema (a test keeps the file identical). */
export function renderConfigDocs(): string {
  const defaults = configSchema.parse({}) as Record<string, unknown>;
  const get = (p: string[]): unknown => p.reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], defaults);
  const lines = [
    '# Configuration',
    '',
    '<!-- Generated from packages/hub/src/config/schema.ts by `npm run eucp -- docs config`; a test keeps it identical. -->',
    '',
    'The hub reads, in increasing precedence: the defaults below, a TOML file',
    '(`eucp start --config FILE`), environment variables, and command-line flags',
    '(`--ip`, `--port`). `EUCP_STATE_DIR` is a short form of `EUCP_STATE_DIR`/`stateDir`.',
    'An unknown key or a wrong value stops the hub with an error naming the key and where it',
    'came from. Units are in the key names (`…Ms`, `…Bytes`, `…Cores`).',
    '',
    'Example `eucp.toml`:',
    '',
    '```toml',
    'port = 8000',
    '[spawner.defaults]',
    'memoryLimitBytes = 4294967296',
    '[spawner.groups.climate]',
    'memoryLimitBytes = 8589934592',
    'cpuLimitCores = 2',
    '```',
    '',
    '| key | type | default | environment variable | description |',
    '|---|---|---|---|---|',
  ];
  for (const { path, type } of schemaLeaves()) {
    const desc = (type.description ?? '').replace(/\|/g, '\\|');
    lines.push(`| \`${path.join('.')}\` | ${typeName(type)} | \`${JSON.stringify(get(path))}\` | \`${envName(path)}\` | ${desc} |`);
  }
  return lines.join('\n') + '\n';
}
