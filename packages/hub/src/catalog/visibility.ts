import type { AccessReader, AccessService } from '../access/index.js';
import type { AccessUser } from '../access/types.js';
import type { Bitset } from '@eucp/core';
import type { AuthContext } from '../auth/types.js';
import type { EsgfSnapshot } from './esgf-index.js';
import type { EsgfVisibilityFilter } from './esgf-routes.js';

/** Decides derived data sets (ids `derived.…`) by their own rule instead of the access policies (derived/). */
export interface DerivedVisibility {
  deciderFor(user: AccessUser | null, reader: AccessReader): Promise<(instanceId: string) => boolean>;
  /** Every published derived instance_id (few: they key the cached masks). */
  instanceIds(): Iterable<string>;
}

/** Masks kept per corpus (a corpus is immutable; a new catalog generation is a new corpus). */
const MASKS_PER_CORPUS = 64;

/**
 * The catalog's visibility filter from the access policies: a caller lists a data set
 * (and its files) only if they may read it or a visible access group would grant it
 * (`purpose: 'list'`), and with `readable=true` only what they may read now. Decided once
 * per distinct data set id, as one bitset over the corpus, so counts never reveal hidden
 * records. A File doc belongs to the data set of its `dataset_id` (`<instance_id>|<node>`).
 * With `derived`, ids starting `derived.` are decided by it alone (for list and read alike).
 *
 * Masks are cached per corpus and per what decides them — the reader's key (policies,
 * anonymous or not, approved memberships, visible groups) and the derived data sets the
 * caller may see — so the decisions over every distinct id (a million at scale) are made
 * once per kind of caller and catalog generation, not per request.
 */
export function accessVisibilityFilter(access: AccessService, derived?: DerivedVisibility): WarmableVisibilityFilter {
  const cache = new WeakMap<object, Map<string, Bitset>>();
  const filter: EsgfVisibilityFilter = async ({ caller, type, corpus, purpose }) => {
    const user = caller ? { id: caller.user.id, name: caller.user.name } : null;
    const reader = await access.reader(user);
    const policy = purpose === 'read' ? (id: string) => reader.canRead(id) : (id: string) => reader.canList(id);
    const own = derived ? await derived.deciderFor(user, reader) : null;
    const ownVisible = own ? [...derived!.instanceIds()].filter((id) => own(id)).sort() : [];
    const key = JSON.stringify([type, purpose, reader.key, ownVisible]);
    let masks = cache.get(corpus);
    if (!masks) cache.set(corpus, (masks = new Map()));
    const hit = masks.get(key);
    if (hit) return hit;
    const allowed = own ? (id: string) => (id.startsWith('derived.') ? own(id) : policy(id)) : policy;
    const field = type === 'File' ? 'dataset_id' : 'instance_id';
    const mask = corpus.index.matchWhere(field, (value) => allowed(value.split('|')[0]!));
    if (masks.size >= MASKS_PER_CORPUS) masks.delete(masks.keys().next().value!);
    masks.set(key, mask);
    return mask;
  };
  return Object.assign(filter, {
    async warm(snapshot: EsgfSnapshot): Promise<void> {
      // What the catalog page asks first (Dataset records, listable), for the two most common
      // kinds of caller: anonymous, and logged in without memberships (user id 0 has none;
      // derived data sets shown to an audience are decided per user anyway). Each mask is
      // synchronous work over every distinct id, so only these two.
      const nobody = { user: { id: 0, name: '' } } as unknown as AuthContext;
      for (const caller of [null, nobody]) await filter({ caller, type: 'Dataset', corpus: snapshot.datasets, purpose: 'list' });
    },
  });
}

/** The visibility filter, plus `warm`: decides the most common callers' first mask of a new catalog snapshot ahead of their first search. */
export type WarmableVisibilityFilter = EsgfVisibilityFilter & { warm(snapshot: EsgfSnapshot): Promise<void> };
