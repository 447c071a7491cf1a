import type { AccessReader, AccessService } from '../access/index.js';
import type { AccessUser } from '../access/types.js';
import type { EsgfVisibilityFilter } from './esgf-routes.js';

/** Decides derived data sets (ids `derived.…`) by their own rule instead of the access policies (derived/). */
export interface DerivedVisibility {
  deciderFor(user: AccessUser | null, reader: AccessReader): Promise<(instanceId: string) => boolean>;
}

/**
 * The catalog's visibility filter from the access policies: a caller lists a data set
 * (and its files) only if they may read it or a visible access group would grant it
 * (`purpose: 'list'`), and with `readable=true` only what they may read now. Decided once
 * per distinct data set id, as one bitset over the corpus, so counts never reveal hidden
 * records. A File doc belongs to the data set of its `dataset_id` (`<instance_id>|<node>`).
 * With `derived`, ids starting `derived.` are decided by it alone (for list and read alike).
 */
export function accessVisibilityFilter(access: AccessService, derived?: DerivedVisibility): EsgfVisibilityFilter {
  return async ({ caller, type, corpus, purpose }) => {
    const user = caller ? { id: caller.user.id, name: caller.user.name } : null;
    const reader = await access.reader(user);
    const policy = purpose === 'read' ? (id: string) => reader.canRead(id) : (id: string) => reader.canList(id);
    const own = derived ? await derived.deciderFor(user, reader) : null;
    const allowed = own ? (id: string) => (id.startsWith('derived.') ? own(id) : policy(id)) : policy;
    const field = type === 'File' ? 'dataset_id' : 'instance_id';
    return corpus.index.matchWhere(field, (value) => allowed(value.split('|')[0]!));
  };
}
