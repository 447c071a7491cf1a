import type { ServerName, UserName } from '@eucp/core';

export interface Route {
  prefix: string;
  user: UserName;
  server: ServerName;
  /** `http://127.0.0.1:41234` */
  target: string;
}

/**
 * Where `/user/<name>/…` goes. The durable copy is the `servers.target` column (written
 * in the same update that marks a server running); this in-memory index is rebuilt from
 * it at start-up, so a restarted hub routes to the servers it re-adopts.
 */
export class RouteTable {
  private readonly byPrefix = new Map<string, Route>();

  set(route: Route): void {
    this.byPrefix.set(route.prefix, route);
  }

  delete(prefix: string): void {
    this.byPrefix.delete(prefix);
  }

  /** Longest-prefix match of a request path among `/user/<name>/<server>/` and `/user/<name>/`. */
  lookup(pathname: string): Route | null {
    const m = /^\/user\/([^/?#]+)(?:\/([^/?#]*))?/.exec(pathname);
    if (!m) return null;
    const user = decodeURIComponent(m[1]!);
    if (m[2]) {
      const named = this.byPrefix.get(`/user/${user}/${decodeURIComponent(m[2])}/`);
      if (named) return named;
    }
    return this.byPrefix.get(`/user/${user}/`) ?? null;
  }

  all(): Route[] {
    return [...this.byPrefix.values()];
  }
}
