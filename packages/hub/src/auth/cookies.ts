/** The hub's cookie names; parsing and serializing live in `@eucp/core` (cookies.ts). */
export { appendSetCookie, clearCookie, parseCookies, serializeCookie, type CookieOptions } from '@eucp/core';

/** The hub's login session cookie (holds a secret; only its SHA-256 is stored). */
export const SESSION_COOKIE = 'eucp-session';
/** JupyterHub's public session id cookie, read by single-user servers. */
export const JUPYTERHUB_SESSION_COOKIE = 'jupyterhub-session-id';
/** Anti-forgery cookie of the log-in form (before a session exists). */
export const LOGIN_XSRF_COOKIE = 'eucp-login-xsrf';

