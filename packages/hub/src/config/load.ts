import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { z } from 'zod';
import { AppError } from '@eucp/core';
import { configSchema, type HubConfig } from './schema.js';

/** Where each layer of the configuration comes from. */
export interface ConfigSources {
  /** Path of a TOML file, or undefined for none. */
  file?: string | undefined;
  /** The process environment (only `EUCP_*` keys are read). */
  env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, already keyed like the schema (e.g. `{ ip, port }`). */
  flags?: Record<string, unknown>;
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

function deepMerge(a: Plain, b: Plain): Plain {
  const out: Plain = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? deepMerge(out[k] as Plain, v) : v;
  }
  return out;
}

const snake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** Environment variable name of a config key path: `['spawner','startTimeoutMs']` → `EUCP_SPAWNER__START_TIMEOUT_MS`. */
export function envName(keyPath: readonly string[]): string {
  return 'EUCP_' + keyPath.map(snake).join('__');
}

/** Leaf key paths of the schema with their zod types, in declaration order. */
export function schemaLeaves(schema: z.ZodType = configSchema, prefix: string[] = []): Array<{ path: string[]; type: z.ZodType }> {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([k, v]) => {
      const u = unwrap(v);
      // Records (per-user/per-group maps) are leaves: they are set from files as a whole.
      return u instanceof z.ZodObject ? schemaLeaves(v, [...prefix, k]) : [{ path: [...prefix, k], type: v }];
    });
  }
  return [{ path: prefix, type: schema }];
}

/** Strips default/nullable/optional/pipe wrappers to reach the underlying type. */
export function unwrap(t: z.ZodType): z.ZodType {
  let cur: z.ZodType = t;
  for (;;) {
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodPrefault || cur instanceof z.ZodNullable || cur instanceof z.ZodOptional) {
      cur = (cur as unknown as { unwrap(): z.ZodType }).unwrap();
    } else return cur;
  }
}

function envValue(raw: string, type: z.ZodType, name: string): unknown {
  const inner = unwrap(type);
  if (raw === 'null' && type.safeParse(null).success) return null;
  if (inner instanceof z.ZodNumber) {
    const n = Number(raw);
    if (raw.trim() === '' || Number.isNaN(n)) throw new AppError('CONFIG_INVALID', `${name}=${JSON.stringify(raw)} is not a number.`, { key: name });
    return n;
  }
  if (inner instanceof z.ZodBoolean) {
    if (!['true', 'false', '1', '0'].includes(raw)) throw new AppError('CONFIG_INVALID', `${name}=${JSON.stringify(raw)} is not true/false.`, { key: name });
    return raw === 'true' || raw === '1';
  }
  if (inner instanceof z.ZodArray || inner instanceof z.ZodRecord) {
    try { return JSON.parse(raw); } catch {
      throw new AppError('CONFIG_INVALID', `${name} must be JSON (e.g. ["a","b"]).`, { key: name });
    }
  }
  return raw;
}

function fromEnv(env: NodeJS.ProcessEnv): Plain {
  let out: Plain = {};
  for (const { path: keyPath, type } of schemaLeaves()) {
    const name = envName(keyPath);
    const raw = env[name];
    if (raw === undefined) continue;
    let node: Plain = { [keyPath[keyPath.length - 1]!]: envValue(raw, type, name) };
    for (let i = keyPath.length - 2; i >= 0; i--) node = { [keyPath[i]!]: node };
    out = deepMerge(out, node);
  }
  // EUCP_STATE_DIR is the documented short form.
  if (env.EUCP_STATE_DIR) out.stateDir = env.EUCP_STATE_DIR;
  return out;
}

function readFile(file: string): Plain {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `Cannot read config file ${file}: ${(err as Error).message}`, { file });
  }
  try {
    return parseToml(text) as Plain;
  } catch (err) {
    throw new AppError('CONFIG_INVALID', `${file} is not valid TOML: ${(err as Error).message}`, { file });
  }
}

function describeIssue(issue: z.core.$ZodIssue, origin: string): string {
  const key = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => (key ? `${key}.${k}` : k));
    return `unknown key ${keys.map((k) => `"${k}"`).join(', ')} in ${origin} (see docs/configuration.md for the valid keys)`;
  }
  return `"${key}" in ${origin}: ${issue.message}`;
}

/**
 * Loads the configuration: defaults < file < env < flags. Relative paths are resolved
 * against the working directory. Throws `CONFIG_INVALID` naming the key and where it
 * came from (the file, the environment variable or the flag).
 */
export function loadConfig(sources: ConfigSources = {}): HubConfig {
  const layers: Array<[string, Plain]> = [];
  if (sources.file) layers.push([sources.file, readFile(sources.file)]);
  layers.push(['the environment', fromEnv(sources.env ?? {})]);
  layers.push(['the command line', sources.flags ?? {}]);
  // Validate each layer alone first so an error names the layer that caused it.
  for (const [origin, layer] of layers) {
    const r = configSchema.safeParse(layer);
    if (!r.success) {
      const issue = r.error.issues[0]!;
      throw new AppError('CONFIG_INVALID', describeIssue(issue, origin), { key: issue.path.join('.'), origin });
    }
  }
  const merged = layers.reduce<Plain>((acc, [, layer]) => deepMerge(acc, layer), {});
  const config = configSchema.parse(merged);
  config.stateDir = path.resolve(config.stateDir);
  if (config.dataDir) config.dataDir = path.resolve(config.dataDir);
  if (config.spawner.homeRoot) config.spawner.homeRoot = path.resolve(config.spawner.homeRoot);
  if (config.storage.path) config.storage.path = path.resolve(config.storage.path);
  return config;
}

/** The data cache directory of a loaded config. */
export function dataDirOf(config: HubConfig): string {
  return config.dataDir ?? path.join(config.stateDir, 'data');
}

/** Root of the storage areas (`home/`, `derived/`, `groups/`): `storage.path`, else `<stateDir>/storage`. */
export function storageRootOf(config: HubConfig): string {
  return config.storage.path ?? path.join(config.stateDir, 'storage');
}

/**
 * Where home directories live on the host: in the storage pool (`<storage root>/home`, one
 * btrfs subvolume each) unless `storage.backend` is `plain`, where `spawner.homeRoot`
 * (default `<stateDir>/home`) still applies.
 */
export function homeRootOf(config: HubConfig): string {
  if (config.storage.backend !== 'plain') return path.join(storageRootOf(config), 'home');
  return config.spawner.homeRoot ?? path.join(config.stateDir, 'home');
}
