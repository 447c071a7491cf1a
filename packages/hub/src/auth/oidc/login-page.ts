import type { HubConfig } from '../../config/schema.js';
import { escapeHtml } from '../html.js';
import { safeNextUrl } from '../next-url.js';

/** Why an OpenID Connect log-in ended on the log-in page (a closed set: the page never echoes text from the URL). */
export type OidcNoticeReason =
  | 'unreachable' | 'failed' | 'cancelled' | 'not_allowed' | 'pending' | 'no_account' | 'invalid_name' | 'name_taken'
  | 'identity_taken' | 'rate_limited';

const REASONS: ReadonlySet<string> = new Set<OidcNoticeReason>([
  'unreachable', 'failed', 'cancelled', 'not_allowed', 'pending', 'no_account', 'invalid_name', 'name_taken', 'identity_taken', 'rate_limited',
]);

/** True for a known reason. */
export function isOidcNoticeReason(value: unknown): value is OidcNoticeReason {
  return typeof value === 'string' && REASONS.has(value);
}

/** What the log-in page says for a reason; `provider` is the provider's display name. */
export function oidcNoticeMessage(reason: OidcNoticeReason, provider: string): string {
  switch (reason) {
    case 'unreachable': return `${provider} is not reachable right now; local login still works.`;
    case 'failed': return `The log-in with ${provider} did not succeed or took too long. Please try again.`;
    case 'cancelled': return `The log-in with ${provider} was cancelled.`;
    case 'not_allowed': return `Your ${provider} identity is not allowed to log in here (its e-mail domain or issuer is not accepted).`;
    case 'pending': return `Your account is waiting for approval by an administrator. Log in with ${provider} again once it is approved.`;
    case 'no_account': return `No account here is linked to your ${provider} identity. Ask an administrator for an account; then log in with its password and link ${provider}.`;
    case 'invalid_name': return `The user name of your ${provider} identity cannot be used here. Ask an administrator to create your account; then link ${provider} to it.`;
    case 'name_taken': return `The user name of your ${provider} identity belongs to another account here. If it is yours, log in with its password and link ${provider}; otherwise ask an administrator.`;
    case 'identity_taken': return `This ${provider} identity is already linked to another account.`;
    case 'rate_limited': return 'Too many failed log-in attempts. Please wait a few minutes and try again.';
  }
}

/**
 * Where to send the browser after a failed OpenID Connect log-in: the log-in page, with
 * the reason and provider id in the query (and `next` kept).
 */
export function loginNoticeUrl(reason: OidcNoticeReason, providerId: string, next: string | null): string {
  const q = new URLSearchParams();
  if (next) q.set('next', next);
  q.set('oidc_error', reason);
  q.set('oidc', providerId);
  return `/hub/login?${q.toString()}`;
}

function param(query: unknown, key: string): unknown {
  const v = (query as Record<string, unknown> | undefined)?.[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The OpenID Connect parts of the log-in page: `buttons`, one "Log in with <name>" button
 * per configured provider (a GET form to `/hub/oidc/<id>/login`, keeping a same-origin
 * `next`), and `notice`, the message for `?oidc_error=<reason>&oidc=<id>` (empty when
 * absent or unknown). Both are escaped HTML, empty without providers.
 */
export function oidcLoginHtml(config: HubConfig, opts: { next: string | null; query?: unknown }): { notice: string; buttons: string } {
  const providers = config.oidc.providers;
  let notice = '';
  const reason = param(opts.query, 'oidc_error');
  const provider = providers.find((p) => p.id === param(opts.query, 'oidc'));
  if (provider && isOidcNoticeReason(reason)) {
    const text = escapeHtml(oidcNoticeMessage(reason, provider.displayName));
    notice = reason === 'pending'
      ? `<p class="notice" role="status" id="oidc-notice" style="padding:.6rem .8rem;background:#fff8c5;border:1px solid #9a6700;border-radius:4px">${text}</p>`
      : `<p class="error" role="alert" id="oidc-notice">${text}</p>`;
  }
  if (providers.length === 0) return { notice, buttons: '' };
  const next = safeNextUrl(opts.next);
  const hidden = next ? `<input type="hidden" name="next" value="${escapeHtml(next)}">` : '';
  const forms = providers.map((p) => `<form method="get" action="/hub/oidc/${escapeHtml(p.id)}/login">${hidden}<button type="submit" class="secondary">Log in with ${escapeHtml(p.displayName)}</button></form>`);
  return { notice, buttons: `<p style="margin:1.5rem 0 0;text-align:center;color:#57606a">or</p>${forms.join('\n')}` };
}
