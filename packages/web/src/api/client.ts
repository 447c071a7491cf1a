/**
 * A small fetch wrapper for the hub's JSON API: cookie authentication, the
 * `X-XSRFToken` header on every state-changing request, and errors as `ApiError`
 * carrying the API's `message` and `action`.
 */

/** An error answer of the hub API (`{status, message, code?, action?}`), or a network failure (status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | null;
  readonly action: string | null;

  constructor(status: number, message: string, code: string | null = null, action: string | null = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.action = action;
  }
}

/** Builds the ApiError of a failed response from its status and body text (JSON or not). */
export function errorFromResponse(status: number, statusText: string, bodyText: string): ApiError {
  try {
    const body: unknown = JSON.parse(bodyText);
    if (typeof body === 'object' && body !== null) {
      const o = body as Record<string, unknown>;
      const message = typeof o.message === 'string' && o.message ? o.message : `${status} ${statusText}`.trim();
      return new ApiError(status, message, typeof o.code === 'string' ? o.code : null, typeof o.action === 'string' ? o.action : null);
    }
  } catch {
    // not JSON: fall through
  }
  return new ApiError(status, `The hub answered ${status}${statusText ? ' ' + statusText : ''}.`);
}

/** Normalises anything thrown by an API call into an ApiError for display. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof TypeError) {
    return new ApiError(0, 'The hub cannot be reached.', null, 'Check your network connection and try again.');
  }
  return new ApiError(0, err instanceof Error ? err.message : String(err));
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** A response that went well: status and parsed JSON body (null when empty or not JSON). */
export interface ApiResponse<T> {
  status: number;
  body: T;
}

/** Performs API requests on behalf of the logged-in user. */
export class ApiClient {
  constructor(private readonly csrfToken: string) {}

  /**
   * Sends one request. `body` is sent as JSON when given (no body, no Content-Type
   * otherwise). Throws ApiError for any non-2xx answer or network failure.
   */
  async request<T = unknown>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const h: Record<string, string> = { Accept: 'application/json', ...headers };
    if (STATE_CHANGING.has(method)) h['X-XSRFToken'] = this.csrfToken;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch (err) {
      throw toApiError(err);
    }
    const text = await res.text();
    if (!res.ok) throw errorFromResponse(res.status, res.statusText, text);
    return { status: res.status, body: parseJsonOrNull(text, res.headers.get('Content-Type')) as T };
  }

  /** GET returning the parsed body. */
  async get<T>(path: string, headers?: Record<string, string>): Promise<T> {
    return (await this.request<T>('GET', path, undefined, headers)).body;
  }
}

function parseJsonOrNull(text: string, contentType: string | null): unknown {
  if (text === '' || !(contentType ?? '').includes('json')) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** JupyterHub's pagination envelope (contract §d.2). */
interface Paginated<T> {
  items: T[];
  _pagination?: { next?: { offset: number; limit: number } | null };
}

/**
 * Every item of a paginated list endpoint, following `_pagination.next` (asks for the
 * envelope; a bare array answer is taken as the whole list). Stops after `maxPages`.
 */
export async function listAll<T>(client: Pick<ApiClient, 'get'>, path: string, maxPages = 100): Promise<T[]> {
  const items: T[] = [];
  let offset = 0;
  for (let page = 0; page < maxPages; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const answer = await client.get<T[] | Paginated<T>>(`${path}${sep}offset=${offset}&limit=200`, {
      Accept: 'application/jupyterhub-pagination+json, application/json',
    });
    if (Array.isArray(answer)) return [...items, ...answer];
    items.push(...(answer.items ?? []));
    const next = answer._pagination?.next;
    if (!next || next.offset <= offset) return items;
    offset = next.offset;
  }
  return items;
}
