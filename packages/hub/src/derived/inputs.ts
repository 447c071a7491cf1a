/**
 * The declared inputs of a derived data set: each must be a data set of the catalog the
 * publisher may read; each brings its licences along (the licence of the access group
 * through which the publisher reads it, or, for open data, the `license` attribute of its
 * files), and says whether it is restricted (anonymous callers may not read it) and to
 * which groups.
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@eucp/core';
import type { AccessService } from '../access/index.js';
import { grantingGroups } from '../access/decisions.js';
import { relOfDoc } from '../catalog/data-files.js';
import { openNetcdf } from '../catalog/netcdf/index.js';
import type { EsgDoc } from '../catalog/esgf-index.js';

/** One licence a derived data set carries. */
export interface DerivedLicence {
  /** Short id (`cordex-nc-research-v1`, the owner's own id); null when the text has none. */
  id: string | null;
  text: string;
  /** sha256 (hex) of the text. */
  sha256: string;
  /** `own` (the publisher's), `access-group` (the group that grants an input), `file` (an open input's `license` attribute). */
  source: 'own' | 'access-group' | 'file';
  /** The inputs (instance_ids) it comes from; absent for `own`. */
  inputs?: string[];
  group?: string;
}

/** A declared input as recorded with a version. */
export interface DerivedInput {
  instance_id: string;
  /** Anonymous callers may not read it: a derived data set of it cannot be public. */
  restricted: boolean;
  /** Access groups that would grant it (for messages and the page). */
  groups: string[];
}

export const sha256Text = (t: string): string => createHash('sha256').update(t, 'utf8').digest('hex');

/** What input checks need. */
export interface InputDeps {
  access: AccessService;
  /** The catalog's current docs (scanned data sets and files). */
  docs(): { datasets: readonly EsgDoc[]; files: readonly EsgDoc[] };
  /** Catalog roots (host paths), for reading an open input's `license` attribute. */
  roots: readonly string[];
}

async function fileLicence(deps: InputDeps, instanceId: string): Promise<string | null> {
  const file = deps.docs().files.find((f) => typeof f['dataset_id'] === 'string' && f['dataset_id'].split('|')[0] === instanceId);
  const rel = file ? relOfDoc(file) : null;
  if (!rel) return null;
  for (const root of deps.roots) {
    const abs = path.join(root, rel);
    const real = await realpath(abs).catch(() => null);
    const realRoot = await realpath(root).catch(() => null);
    if (!real || !realRoot || !real.startsWith(`${realRoot}/`)) continue;
    try {
      const r = await openNetcdf(real);
      try {
        const l = r.header.attributes['license'];
        return typeof l === 'string' && l.trim() ? l.trim() : null;
      } finally {
        await r.close();
      }
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Checks the inputs for `publisher` and returns them with their licences. Throws
 * `NOT_FOUND` for an input the catalog lacks or the publisher may not even know of, and
 * `DERIVED_INPUT_UNREADABLE` (naming it and the groups that would grant it) for one they
 * may see but not read.
 */
export async function checkInputs(deps: InputDeps, publisher: { id: number; name: string }, ids: readonly string[]): Promise<{ inputs: DerivedInput[]; licences: DerivedLicence[] }> {
  const [reader, anon, memberships] = await Promise.all([
    deps.access.reader(publisher), deps.access.reader(null), deps.access.membershipsOf(publisher.id),
  ]);
  const known = new Set(deps.docs().datasets.map((d) => String(d['instance_id'])));
  const groups = new Map((await deps.access.listGroups({ id: publisher.id, name: publisher.name as never, hubAdmin: false })).map((g) => [g.name, g]));
  const inputs: DerivedInput[] = [];
  const licences: DerivedLicence[] = [];
  for (const id of [...new Set(ids)]) {
    if (id.startsWith('derived.')) throw new AppError('INVALID_INPUT', `Input ${id} is itself derived data; declare the catalog data sets it was made from.`);
    if (!known.has(id) || !reader.canList(id)) throw new AppError('NOT_FOUND', `No such input data set in the catalog: ${id}.`, { input: id });
    const granting = anon.decide(id).grantableBy.map((o) => o.group);
    if (!reader.canRead(id)) {
      const via = [...new Set(reader.decide(id).grantableBy.map((o) => o.group))];
      throw new AppError('DERIVED_INPUT_UNREADABLE', `You may not read input ${id}${via.length ? ` (granted by ${via.map((g) => JSON.stringify(g)).join(' or ')})` : ''}.`, { input: id, groups: via });
    }
    inputs.push({ instance_id: id, restricted: !anon.canRead(id), groups: [...new Set(granting)] });
    const through = grantingGroups(reader.decide(id), memberships);
    for (const g of through) {
      const group = groups.get(g);
      if (group?.licenceText) licences.push({ id: group.licenceId, text: group.licenceText, sha256: sha256Text(group.licenceText), source: 'access-group', inputs: [id], group: g });
    }
    if (through.length === 0) {
      const text = await fileLicence(deps, id);
      if (text) licences.push({ id: null, text, sha256: sha256Text(text), source: 'file', inputs: [id] });
    }
  }
  return { inputs, licences };
}
