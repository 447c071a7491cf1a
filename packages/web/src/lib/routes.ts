/** Client-side routing on `location.pathname` (the hub serves index.html for these paths). */

export type Route =
  | { page: 'home' }
  | { page: 'admin' }
  | { page: 'token' }
  /** `/hub/catalog`, `/hub/catalog/requests`, `/hub/catalog/dataset/<instance_id>`. */
  | { page: 'catalog' }
  | { page: 'catalog-requests' }
  /** `/hub/catalog/publish`: publish derived data. */
  | { page: 'catalog-publish' }
  | { page: 'catalog-dataset'; instanceId: string }
  /** `/hub/shares` (mine) and `/hub/shares/with-me`. */
  | { page: 'shares' }
  | { page: 'shares-with-me' }
  /** `/hub/spawn[/<user>[/<server>]]`: start, then follow progress. `user` null = me. */
  | { page: 'spawn'; user: string | null; server: string }
  | { page: 'spawn-pending'; user: string; server: string }
  /** `/hub/user/<name>/…`: where the proxy sends requests for a server that is not running. */
  | { page: 'not-running'; user: string; path: string }
  | { page: 'not-found' };

/** The route for a pathname such as `/hub/spawn-pending/alice/gpu`. */
export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'hub') return { page: 'not-found' };
  const segs = parts.slice(1).map(decode);
  if (segs.some((s) => s === null)) return { page: 'not-found' };
  const [first, user, server, ...rest] = segs as string[];
  switch (first) {
    case 'home':
    case 'admin':
    case 'token':
      return segs.length === 1 ? { page: first } : { page: 'not-found' };
    case 'catalog':
      if (user === undefined) return { page: 'catalog' };
      if (user === 'requests' && server === undefined) return { page: 'catalog-requests' };
      if (user === 'publish' && server === undefined) return { page: 'catalog-publish' };
      if (user === 'dataset' && server && rest.length === 0) return { page: 'catalog-dataset', instanceId: server };
      return { page: 'not-found' };
    case 'shares':
      if (user === undefined) return { page: 'shares' };
      return user === 'with-me' && server === undefined ? { page: 'shares-with-me' } : { page: 'not-found' };
    case 'spawn':
      if (rest.length > 0) return { page: 'not-found' };
      return { page: 'spawn', user: user ?? null, server: server ?? '' };
    case 'spawn-pending':
      if (user === undefined || rest.length > 0) return { page: 'not-found' };
      return { page: 'spawn-pending', user, server: server ?? '' };
    case 'user': {
      if (user === undefined) return { page: 'not-found' };
      // Keep the raw (still encoded) tail: it is a URL to go back to, not a name.
      const rawTail = parts.slice(3).join('/');
      const slash = pathname.endsWith('/') && rawTail !== '' ? '/' : '';
      return { page: 'not-running', user, path: `/user/${encodeURIComponent(user)}/${rawTail}${slash}` };
    }
    default:
      return { page: 'not-found' };
  }
}

function decode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/** Path of the default or a named server: `/user/alice/`, `/user/alice/gpu/`. */
export function serverPath(user: string, server: string): string {
  const u = encodeURIComponent(user);
  return server ? `/user/${u}/${encodeURIComponent(server)}/` : `/user/${u}/`;
}

/** `/hub/spawn-pending/alice[/gpu]`, with `?next=` when given. */
export function spawnPendingPath(user: string, server: string, next?: string | null): string {
  const base = `/hub/spawn-pending/${encodeURIComponent(user)}${server ? '/' + encodeURIComponent(server) : ''}`;
  return next ? `${base}?next=${encodeURIComponent(next)}` : base;
}

/**
 * A `next` URL that is safe to go to once `user`'s server is ready: only paths under
 * that user's `/user/<name>/` prefix (no other origin, no `//host`, no backslashes).
 */
export function safeNext(next: string | null, user: string): string | null {
  if (!next) return null;
  const prefix = `/user/${encodeURIComponent(user)}/`;
  if (!next.startsWith(prefix) || next.includes('\\') || next.startsWith('//')) return null;
  if (next.split(/[?#]/)[0]!.split('/').some((seg) => seg === '..' || seg.toLowerCase() === '%2e%2e')) return null;
  return next;
}

/** The login page that comes back to `currentUrl` (path + query) afterwards. */
export function loginUrl(currentUrl: string): string {
  return `/hub/login?next=${encodeURIComponent(currentUrl)}`;
}
