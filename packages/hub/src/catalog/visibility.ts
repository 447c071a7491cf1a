import type { AccessService } from '../access/index.js';
import type { EsgfVisibilityFilter } from './esgf-routes.js';

/**
 * The catalog's visibility filter from the access policies: a caller lists a data set
 * (and its files) only if they may read it or a visible access group would grant it
 * (`purpose: 'list'`), and with `readable=true` only what they may read now. Decided once
 * per distinct data set id, as one bitset over the corpus, so counts never reveal hidden
 * records. A File doc belongs to the data set of its `dataset_id` (`<instance_id>|<node>`).
 */
export function accessVisibilityFilter(access: AccessService): EsgfVisibilityFilter {
  return async ({ caller, type, corpus, purpose }) => {
    const reader = await access.reader(caller ? { id: caller.user.id, name: caller.user.name } : null);
    const allowed = purpose === 'read' ? (id: string) => reader.canRead(id) : (id: string) => reader.canList(id);
    const field = type === 'File' ? 'dataset_id' : 'instance_id';
    return corpus.index.matchWhere(field, (value) => allowed(value.split('|')[0]!));
  };
}
