import { promises as fs } from 'node:fs';
import path from 'node:path';
import { JupyterError, badRequest } from '../http/errors.js';
import { writeFileAtomic } from './atomic.js';
import { parseJson5 } from './json5.js';
import { validate } from './json-schema.js';

/** One plugin's settings as `GET lab/api/settings/<id>` returns them (§e.3). */
export interface SettingsEntry {
  /** `<package>:<plugin>`, e.g. `@jupyterlab/apputils-extension:themes`. */
  id: string;
  schema: Record<string, unknown>;
  /** Version of the package that ships the schema, or `N/A`. */
  version: string;
  /** The user's settings file as written (JSON5, comments kept), `{}` when none or invalid. */
  raw: string;
  settings: Record<string, unknown>;
  /** Why a stored file was ignored, or null. */
  warning: string | null;
  last_modified: string | null;
  created: string | null;
}

interface SchemaFile {
  id: string;
  pkg: string;
  plugin: string;
  file: string;
}

/**
 * The plugins' settings: schemas from the built UI (`<schemasDir>/<package>/<plugin>.json`,
 * read-only) and the user's values in `<userDir>/<package>/<plugin>.jupyterlab-settings`,
 * written atomically. Only ids that have a schema are ever mapped to a file, so an id
 * cannot address anything else.
 */
export class SettingsStore {
  private index: Promise<Map<string, SchemaFile>> | null = null;
  private readonly schemas = new Map<string, Promise<{ schema: Record<string, unknown>; version: string }>>();

  constructor(
    private readonly schemasDir: string,
    private readonly userDir: string,
  ) {}

  /** Every plugin's entry, sorted by id; with `idsOnly`, entries hold only `id`. */
  async list(idsOnly: boolean): Promise<Array<SettingsEntry | { id: string }>> {
    const ids = [...(await this.schemaIndex()).keys()].sort();
    if (idsOnly) return ids.map((id) => ({ id }));
    return Promise.all(ids.map((id) => this.get(id)));
  }

  /** One plugin's entry. Throws a 404 JupyterError for an id without schema. */
  async get(id: string): Promise<SettingsEntry> {
    const ref = await this.lookup(id);
    const { schema, version } = await this.schema(ref);
    const entry: SettingsEntry = { id, schema, version, raw: '{}', settings: {}, warning: null, last_modified: null, created: null };
    const file = this.userFile(ref);
    let raw: string;
    try {
      raw = await fs.readFile(file, 'utf8');
      const stat = await fs.stat(file);
      entry.last_modified = stat.mtime.toISOString();
      entry.created = (stat.birthtimeMs > 0 ? stat.birthtime : stat.ctime).toISOString();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return entry;
      throw err;
    }
    try {
      entry.settings = this.check(schema, raw);
      entry.raw = raw;
    } catch (err) {
      entry.warning = `Ignored the stored settings of ${id}: ${(err as Error).message}`;
    }
    return entry;
  }

  /**
   * Validates `raw` (JSON5 text of an object) against the plugin's schema and stores it
   * as written. Throws 404 for an unknown id, 400 when `raw` does not parse or conform;
   * the stored file is then left untouched.
   */
  async save(id: string, raw: string): Promise<void> {
    const ref = await this.lookup(id);
    const { schema } = await this.schema(ref);
    try {
      this.check(schema, raw);
    } catch (err) {
      throw badRequest(`Invalid settings for ${id}: ${(err as Error).message}`);
    }
    await writeFileAtomic(this.userFile(ref), raw);
  }

  /** Parses and validates; throws an Error saying what is wrong. */
  private check(schema: Record<string, unknown>, raw: string): Record<string, unknown> {
    const value = parseJson5(raw);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error('the settings must be an object');
    }
    const problem = validate(schema, value);
    if (problem) throw new Error(problem);
    return value as Record<string, unknown>;
  }

  private userFile(ref: SchemaFile): string {
    return path.join(this.userDir, ...ref.pkg.split('/'), `${ref.plugin}.jupyterlab-settings`);
  }

  private async lookup(id: string): Promise<SchemaFile> {
    const ref = (await this.schemaIndex()).get(id);
    if (!ref) throw new JupyterError(404, `Schema not found: ${id}`);
    return ref;
  }

  private schema(ref: SchemaFile): Promise<{ schema: Record<string, unknown>; version: string }> {
    let loaded = this.schemas.get(ref.id);
    if (!loaded) {
      loaded = (async () => {
        const schema = JSON.parse(await fs.readFile(ref.file, 'utf8')) as Record<string, unknown>;
        let version = 'N/A';
        try {
          const meta = JSON.parse(await fs.readFile(path.join(path.dirname(ref.file), 'package.json.orig'), 'utf8'));
          if (typeof meta.version === 'string') version = meta.version;
        } catch {
          // no package.json.orig: version stays N/A
        }
        return { schema, version };
      })();
      loaded.catch(() => this.schemas.delete(ref.id));
      this.schemas.set(ref.id, loaded);
    }
    return loaded;
  }

  /** Scans `<schemasDir>/<package>/*.json` (package may be `@scope/name`) once. */
  private schemaIndex(): Promise<Map<string, SchemaFile>> {
    if (!this.index) {
      this.index = scanSchemas(this.schemasDir);
      this.index.catch(() => {
        this.index = null;
      });
    }
    return this.index;
  }
}

async function scanSchemas(root: string): Promise<Map<string, SchemaFile>> {
  const out = new Map<string, SchemaFile>();
  const dirs = async (dir: string): Promise<string[]> =>
    (await fs.readdir(dir, { withFileTypes: true }).catch(() => [])).filter((d) => d.isDirectory()).map((d) => d.name);
  const packages: string[] = [];
  for (const name of await dirs(root)) {
    if (name.startsWith('@')) for (const inner of await dirs(path.join(root, name))) packages.push(`${name}/${inner}`);
    else packages.push(name);
  }
  for (const pkg of packages) {
    const dir = path.join(root, ...pkg.split('/'));
    for (const file of await fs.readdir(dir)) {
      if (!file.endsWith('.json')) continue;
      const plugin = file.slice(0, -'.json'.length);
      const id = `${pkg}:${plugin}`;
      out.set(id, { id, pkg, plugin, file: path.join(dir, file) });
    }
  }
  return out;
}
