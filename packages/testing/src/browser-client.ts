/**
 * A minimal browser for HTTP-level tests: a cookie jar that honours `Path`, manual
 * redirects (so tests can assert every hop of the OAuth dance), and form posts.
 */
interface StoredCookie { name: string; value: string; path: string; httpOnly: boolean; sameSite: string | null; secure: boolean }

export interface Hop { status: number; url: string; location: string | null }

export class BrowserClient {
  readonly cookies = new Map<string, StoredCookie>();
  /** Every request made, in order, with its status. */
  readonly history: Hop[] = [];

  constructor(readonly origin: string) {}

  private store(setCookies: string[], requestPath: string): void {
    for (const sc of setCookies) {
      const [pair, ...attrs] = sc.split(';').map((s) => s.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const attr = (n: string): string | undefined => attrs.find((a) => a.toLowerCase().startsWith(n))?.split('=')[1];
      const cookiePath = attr('path=') ?? requestPath.replace(/\/[^/]*$/, '/');
      const expired = /max-age=0\b/i.test(sc) || /expires=Thu, 01 Jan 1970/i.test(sc);
      const k = `${name};${cookiePath}`;
      if (expired || value === '') { this.cookies.delete(k); continue; }
      this.cookies.set(k, {
        name, value, path: cookiePath,
        httpOnly: attrs.some((a) => a.toLowerCase() === 'httponly'),
        secure: attrs.some((a) => a.toLowerCase() === 'secure'),
        sameSite: attr('samesite=') ?? null,
      });
    }
  }

  /** The Cookie header a browser would send for `pathname`. */
  cookieHeader(pathname: string): string {
    return [...this.cookies.values()].filter((c) => pathname.startsWith(c.path)).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  cookie(name: string): StoredCookie | undefined {
    return [...this.cookies.values()].find((c) => c.name === name);
  }

  /** One request, no redirect following. */
  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const u = new URL(url, this.origin);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(u.pathname);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(u, { ...init, headers, redirect: 'manual' });
    this.store(res.headers.getSetCookie(), u.pathname);
    this.history.push({ status: res.status, url: u.pathname + u.search, location: res.headers.get('location') });
    return res;
  }

  /** Follows redirects within the origin (max 20); resolves the last response. */
  async get(url: string, init: RequestInit = {}): Promise<Response> {
    let res = await this.request(url, init);
    for (let i = 0; i < 20 && res.status >= 300 && res.status < 400; i++) {
      const next = new URL(res.headers.get('location')!, new URL(url, this.origin));
      if (next.origin !== this.origin) throw new Error(`redirect leaves the hub: ${next}`);
      await res.arrayBuffer();
      url = next.toString();
      res = await this.request(url, { headers: init.headers });
    }
    return res;
  }

  /** Submits an urlencoded form; does not follow the redirect. */
  async postForm(url: string, fields: Record<string, string>): Promise<Response> {
    return this.request(url, {
      method: 'POST', body: new URLSearchParams(fields).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  /** Logs in through the hub's login form (reads the anti-forgery field from the page). */
  async login(user: string, password: string): Promise<Response> {
    const page = await (await this.get('/hub/login')).text();
    const xsrf = /name="_xsrf"\s+value="([^"]+)"/.exec(page)?.[1] ?? /value="([^"]+)"\s+name="_xsrf"/.exec(page)?.[1];
    if (!xsrf) throw new Error('login form has no _xsrf field');
    return this.postForm('/hub/login', { username: user, password, _xsrf: xsrf });
  }
}
