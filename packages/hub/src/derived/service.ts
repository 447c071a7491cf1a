/**
 * Derived data in the catalog (issue 5 §5, §6): a user publishes a folder of their own
 * derived files as a data set with a title, description, licence, declared inputs and an
 * audience. The effective audience is the chosen one intersected with whoever may read
 * every input (rule.ts), decided at every check; the folder is shown read-only at
 * `/shared/<owner>/<name>` to exactly that audience through a share whose user grants this
 * service keeps equal to the rule (on publication, on access changes, periodically).
 */
import { AppError } from '@eucp/core';
import type { AccessReader, AccessService } from '../access/index.js';
import type { AccessUser } from '../access/types.js';
import type { EsgDoc, EsgfDocSource } from '../catalog/esgf-index.js';
import type { Db } from '../db/index.js';
import type { Logger } from '../log/index.js';
import { writeAudit } from '../accounts/audit.js';
import { resolveSharePath } from '../sharing/paths.js';
import type { SharingService } from '../sharing/service.js';
import { allDocs, type DerivedRecord, type DerivedVersion } from './docs.js';
import { readDerivedFolder } from './files.js';
import { checkInputs, sha256Text, type DerivedLicence } from './inputs.js';
import { checkDerivedName, instanceIdOf, mayRead, nameFromFolder, nextVersion, parseDerivedId, type Audience } from './rule.js';
import { hubGroupsOf, loadPublished, usersWithGroups } from './store.js';

/** The areas a folder may be published from. */
export type DerivedArea = 'derived' | 'home';

/** What `publish` is given (already parsed). */
export interface PublishInput {
  path: string;
  area?: DerivedArea;
  name?: string;
  title: string;
  description: string;
  licence: { id: string; text: string } | null;
  inputs: string[];
  audience: { users?: string[]; groups?: string[]; public?: boolean };
}

export interface DerivedServiceDeps {
  db: Db;
  log: Logger;
  now(): number;
  access: AccessService;
  /** The scanned catalog (inputs must be among its data sets). */
  catalog: EsgfDocSource;
  /** Catalog roots (host paths), to read the `license` attribute of open inputs. */
  roots: readonly string[];
  /** Host path of a user's area, or null when this hub has none. */
  areaRoot(user: string, area: DerivedArea): string | null;
  /** Null = no `/shared` (published data sets are listed but not shown in sandboxes). */
  sharing: SharingService | null;
}

/** A user acting on their own derived data sets. */
export interface DerivedActor { id: number; name: string }

/**
 * The derived-data use cases. Errors: `INVALID_INPUT`, `SHARE_PATH_INVALID` (traversal,
 * symbolic links, absolute paths), `NOT_FOUND` (missing folder, unknown input, user or
 * group — named), `DERIVED_FILES_INVALID`, `DERIVED_INPUT_UNREADABLE`,
 * `DERIVED_ACCESS_TOO_WIDE`, `NAME_TAKEN`. Nothing is changed when one is thrown. Every
 * publication and removal is audited (`audit_log`, `derived.publish` / `derived.unpublish`).
 */
export class DerivedService implements EsgfDocSource {
  private records = new Map<number, DerivedRecord>();
  private byInstance = new Map<string, { record: DerivedRecord; version: DerivedVersion }>();
  private gen = 0;
  private cached: { gen: number; docs: { datasets: EsgDoc[]; files: EsgDoc[] } } | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly deps: DerivedServiceDeps) {}

  private get db(): Db { return this.deps.db; }

  /** Reads the published data sets from the database (call once before serving). */
  async load(): Promise<void> {
    const rows = await loadPublished(this.db);
    this.records = new Map(rows.map((r) => [r.id, r]));
    this.byInstance = new Map();
    for (const r of rows) for (const v of r.versions) this.byInstance.set(instanceIdOf(r.owner, r.name, v.version), { record: r, version: v });
    this.gen++;
  }

  /** Increases whenever `docs()` changes (the EsgfDocSource contract). */
  generation(): number { return this.gen; }

  /** ESGF docs of every published version (project `derived`). */
  docs(): { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] } {
    if (this.cached?.gen !== this.gen) this.cached = { gen: this.gen, docs: allDocs(this.records.values()) };
    return this.cached.docs;
  }

  /**
   * Publishes (or re-publishes as a new version) a folder of the actor's area. Validates
   * everything before changing anything; returns the record and the new version.
   */
  async publish(actor: DerivedActor, input: PublishInput): Promise<{ record: DerivedRecord; version: DerivedVersion }> {
    const area = input.area ?? 'derived';
    const root = this.deps.areaRoot(actor.name, area);
    if (!root) throw new AppError('INVALID_INPUT', `This hub has no ${area} area to publish from.`);
    const folder = await resolveSharePath(root, input.path);
    if (folder.kind !== 'folder') throw new AppError('DERIVED_FILES_INVALID', `${folder.rel} is a file; publish the folder that holds your derived files.`);
    const name = checkDerivedName(input.name ?? nameFromFolder(folder.rel.split('/').pop()!));
    const audience = await this.checkAudience(actor, input.audience);
    const { inputs, licences: inputLicences } = await checkInputs(
      { access: this.deps.access, docs: () => this.deps.catalog.docs(), roots: this.deps.roots }, actor, input.inputs,
    );
    if (audience.public) {
      const restricted = inputs.find((i) => i.restricted);
      if (restricted) {
        const by = restricted.groups.length ? `the access group ${restricted.groups.map((g) => JSON.stringify(g)).join(' or ')}` : 'logged-in users';
        throw new AppError('DERIVED_ACCESS_TOO_WIDE', `Input ${restricted.instance_id} is restricted to ${by}; it cannot be public.`, { input: restricted.instance_id, groups: restricted.groups });
      }
    }
    const { files, facts } = await readDerivedFolder(folder.abs);
    const licences = mergeLicences(input.licence, inputLicences);
    const existing = [...this.records.values()].find((r) => r.ownerId === actor.id && r.name === name);
    if (this.deps.sharing) {
      const clash = (await this.deps.sharing.mine(actor)).find((s) => s.share.name === name && s.share.id !== existing?.shareId);
      if (clash) throw new AppError('NAME_TAKEN', `You already share something as ${JSON.stringify(name)} (/shared/${actor.name}/${name}); choose another name.`);
    }
    const now = this.deps.now();
    const version = nextVersion(now, existing?.versions.at(-1)?.version ?? null);
    const moved = existing !== undefined && (existing.area !== area || existing.relPath !== folder.rel);
    const row = {
      area, rel_path: folder.rel, title: input.title, description: input.description, licence_id: input.licence?.id ?? null,
      licence_text: input.licence?.text ?? null, audience: JSON.stringify(audience), updated_at: now,
    };
    const id = await this.db.transaction().execute(async (trx) => {
      let dsId = existing?.id;
      if (dsId === undefined) {
        dsId = (await trx.insertInto('derived_datasets').values({ ...row, owner_id: actor.id, name, share_id: null, created_at: now, unpublished_at: null })
          .returning('id').executeTakeFirstOrThrow()).id;
      } else {
        await trx.updateTable('derived_datasets').set(row).where('id', '=', dsId).execute();
      }
      await trx.insertInto('derived_versions').values({
        dataset_id: dsId, version, files: JSON.stringify(files), facts: JSON.stringify(facts), inputs: JSON.stringify(inputs),
        licences: JSON.stringify(licences), created_at: now,
      }).execute();
      await writeAudit(trx, now, actor.name, 'derived.publish', `derived:${dsId}`, {
        instance_id: instanceIdOf(actor.name, name, version), area, path: folder.rel, inputs: inputs.map((i) => i.instance_id), audience,
      });
      return dsId;
    });
    if (this.deps.sharing && (!existing || existing.shareId === null || moved)) {
      try {
        if (existing && existing.shareId !== null) await this.deps.sharing.revokeShare(actor, existing.shareId);
        const { share } = await this.deps.sharing.create(actor, { path: folder.rel, area, name });
        await this.db.updateTable('derived_datasets').set({ share_id: share.id }).where('id', '=', id).execute();
      } catch (err) {
        this.deps.log.error({ err, derived: id }, 'the share of a derived data set could not be made');
      }
    }
    await this.load();
    await this.syncShares();
    const record = this.records.get(id)!;
    return { record, version: record.versions.at(-1)! };
  }

  /** Removes one of the actor's derived data sets from the catalog and from the readers' `/shared`. */
  async unpublish(actor: DerivedActor, name: string): Promise<void> {
    const r = [...this.records.values()].find((x) => x.ownerId === actor.id && x.name === name);
    if (!r) throw new AppError('NOT_FOUND', `No such derived data set: ${name}.`);
    const now = this.deps.now();
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('derived_datasets').set({ unpublished_at: now, share_id: null }).where('id', '=', r.id).execute();
      await writeAudit(trx, now, actor.name, 'derived.unpublish', `derived:${r.id}`, { name });
    });
    if (r.shareId !== null && this.deps.sharing) await this.deps.sharing.revokeShare(actor, r.shareId).catch((err: unknown) => this.deps.log.warn({ err }, 'revoking a derived share failed'));
    await this.load();
  }

  /** The actor's published data sets. */
  mine(actor: DerivedActor): DerivedRecord[] {
    return [...this.records.values()].filter((r) => r.ownerId === actor.id);
  }

  /**
   * A version (instance_id) or the latest version (master_id `derived.<owner>.<name>`) if
   * `user` may see it; `NOT_FOUND` otherwise (also for what exists but is hidden).
   */
  async get(user: AccessUser | null, id: string): Promise<{ record: DerivedRecord; version: DerivedVersion }> {
    const p = parseDerivedId(id);
    let hit = this.byInstance.get(id);
    if (!hit && p && p.version === null) {
      const r = [...this.records.values()].find((x) => x.owner === p.owner && x.name === p.name);
      if (r) hit = { record: r, version: r.versions.at(-1)! };
    }
    if (hit) {
      const decide = await this.deciderFor(user, await this.deps.access.reader(user));
      if (decide(instanceIdOf(hit.record.owner, hit.record.name, hit.version.version))) return hit;
    }
    throw new AppError('NOT_FOUND', `No such data set: ${id}.`);
  }

  /** Every published version's instance_id. */
  instanceIds(): Iterable<string> {
    return this.byInstance.keys();
  }

  /** For the catalog's visibility filter: a sync decision per derived instance_id for `user` with their access `reader`. */
  async deciderFor(user: AccessUser | null, reader: AccessReader): Promise<(instanceId: string) => boolean> {
    const viewer = { name: user?.name ?? null, hubGroups: user ? await hubGroupsOf(this.db, user.id) : new Set<string>(), reader };
    return (instanceId) => {
      const hit = this.byInstance.get(instanceId);
      return !!hit && mayRead(viewer, hit.record.owner, hit.record.audience, hit.version.inputs);
    };
  }

  /** The users (other than the owner) the rule lets read the latest version now. */
  async effectiveReaders(r: DerivedRecord): Promise<string[]> {
    const inputs = r.versions.at(-1)?.inputs ?? [];
    const out: string[] = [];
    for (const u of await usersWithGroups(this.db)) {
      if (u.name === r.owner) continue;
      const chosen = r.audience.public || r.audience.users.includes(u.name) || r.audience.groups.some((g) => u.groups.has(g));
      if (!chosen) continue;
      const reader = inputs.length ? await this.deps.access.reader(u) : { canRead: () => true };
      if (mayRead({ name: u.name, hubGroups: u.groups, reader }, r.owner, r.audience, inputs)) out.push(u.name);
    }
    return out;
  }

  /**
   * Makes each derived share's grants equal to the rule's readers (one user grant each;
   * other grants are revoked), serialised; failures are logged, never thrown.
   */
  syncShares(): Promise<void> {
    const run = async (): Promise<void> => {
      const sharing = this.deps.sharing;
      if (!sharing) return;
      for (const r of this.records.values()) {
        if (r.shareId === null) continue;
        const owner = { id: r.ownerId, name: r.owner };
        const share = (await sharing.mine(owner)).find((s) => s.share.id === r.shareId);
        if (!share) continue;
        const want = new Set(await this.effectiveReaders(r));
        const have = new Set<string>();
        for (const g of share.grants) {
          const ok = g.kind === 'user' && g.parent_grant_id === null && g.expires_at === null && g.user_name !== null && want.has(g.user_name);
          if (ok) have.add(g.user_name!);
          else await sharing.revokeGrant(owner, r.shareId, g.id).catch(() => undefined);
        }
        const add = [...want].filter((u) => !have.has(u));
        if (add.length) await sharing.addGrants(owner, r.shareId, { users: add });
      }
    };
    const next = this.chain.then(run, run);
    this.chain = next.catch(() => undefined);
    return next.catch((err: unknown) => this.deps.log.error({ err }, 'derived shares: sync failed'));
  }

  /** Syncs now, at every access change and every `intervalMs` (hub group changes made outside the API, expiries). */
  async start(intervalMs: number): Promise<void> {
    this.unsubscribe = this.deps.access.onChange((c) => {
      if (c.change !== 'requested') void this.syncShares();
    });
    await this.syncShares();
    this.timer = setInterval(() => void this.syncShares(), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    await this.chain.catch(() => undefined);
  }

  private async checkAudience(actor: DerivedActor, a: PublishInput['audience']): Promise<Audience> {
    const users: string[] = [];
    for (const name of new Set(a.users ?? [])) {
      const u = await this.db.selectFrom('users').select('id').where('name', '=', name).executeTakeFirst();
      if (!u) throw new AppError('NOT_FOUND', `No such user: ${name}.`, { user: name });
      if (u.id !== actor.id) users.push(name);
    }
    const groups: string[] = [];
    for (const name of new Set(a.groups ?? [])) {
      const g = await this.db.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
      if (!g) throw new AppError('NOT_FOUND', `No such group: ${name}.`, { group: name });
      groups.push(name);
    }
    return { users: users.sort(), groups: groups.sort(), public: a.public === true };
  }
}

/** The effective licence list: the owner's own first, then each distinct input licence (by text), naming all inputs it comes from. */
export function mergeLicences(own: { id: string; text: string } | null, fromInputs: readonly DerivedLicence[]): DerivedLicence[] {
  const out: DerivedLicence[] = own ? [{ id: own.id, text: own.text, sha256: sha256Text(own.text), source: 'own' }] : [];
  for (const l of fromInputs) {
    const same = out.find((o) => o.sha256 === l.sha256 && o.source !== 'own');
    if (same) same.inputs = [...new Set([...(same.inputs ?? []), ...(l.inputs ?? [])])];
    else out.push({ ...l, ...(l.inputs && { inputs: [...l.inputs] }) });
  }
  return out;
}
