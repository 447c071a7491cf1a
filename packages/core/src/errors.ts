/**
 * The closed catalog of errors EUCP Notebook reports. Every failure a user or an
 * operator can see has a code here, an HTTP status, a message for the user and, for
 * operators, what to do next. `docs/errors.md` is generated from this table and kept
 * identical to it by a test.
 */
export interface ErrorSpec {
  /** HTTP status used when the error leaves the hub through an API. */
  readonly status: number;
  /** What happened, in words a scientist understands. */
  readonly message: string;
  /** What to do next (for the user or, where it says so, the operator). */
  readonly action: string;
}

export const ERROR_CATALOG = {
  INVALID_INPUT: {
    status: 400,
    message: 'The request is not valid.',
    action: 'Correct the fields named in the details and send it again.',
  },
  INVALID_JSON: {
    status: 400,
    message: 'Invalid JSON in body of request.',
    action: 'Send a well-formed JSON document with Content-Type: application/json.',
  },
  INVALID_NAME: {
    status: 400,
    message: 'The name is not allowed.',
    action:
      'Use 1-32 characters: lower-case letters, digits, "-" and "_", starting with a letter.',
  },
  NAME_TAKEN: {
    status: 409,
    message: 'That name is already taken.',
    action: 'Choose another name, or use the existing one.',
  },
  NOT_FOUND: {
    status: 404,
    message: 'No access to resources or resources not found.',
    action: 'Check the name; you may also lack permission to see it.',
  },
  UNAUTHENTICATED: {
    status: 403,
    message: 'Missing or invalid credentials.',
    action: 'Log in again, or send a valid API token in the Authorization header.',
  },
  FORBIDDEN: {
    status: 403,
    message: 'Action is not authorized with current scopes.',
    action: 'Ask an administrator for the scope named in the details.',
  },
  LOGIN_FAILED: {
    status: 403,
    message: 'Invalid username or password.',
    action: 'Check your user name and password; an administrator can reset the password.',
  },
  LOGIN_RATE_LIMITED: {
    status: 429,
    message: 'Too many failed log-in attempts.',
    action: 'Wait for the time given in the Retry-After header, then try again.',
  },
  CSRF_FAILED: {
    status: 403,
    message: 'The form or request is missing its anti-forgery token.',
    action: 'Reload the page and submit again; API clients should use a token instead of a cookie.',
  },
  CONFIG_INVALID: {
    status: 500,
    message: 'The configuration is not valid.',
    action: 'Operator: fix the key named in the details (see docs/configuration.md) and restart.',
  },
  SERVER_ALREADY_RUNNING: {
    status: 400,
    message: 'The server is already running.',
    action: 'Open it at its URL, or stop it first to start a new one.',
  },
  SERVER_PENDING_STOP: {
    status: 400,
    message: 'The server is stopping.',
    action: 'Wait for it to stop, then start it again.',
  },
  SERVER_NOT_STARTING: {
    status: 400,
    message: 'The server is not starting.',
    action: 'Start the server first; progress is only available while it starts.',
  },
  SPAWN_FAILED: {
    status: 500,
    message: 'The server could not be started.',
    action: 'Try again; if it keeps failing, an administrator finds the reason in the server log named in the details.',
  },
  SPAWN_TIMEOUT: {
    status: 500,
    message: 'The server did not become ready in time.',
    action: 'Try again; operator: raise spawner.startTimeoutMs if the machine is slow.',
  },
  MEMORY_LIMIT_EXCEEDED: {
    status: 500,
    message: 'The server was stopped because it used more memory than its limit.',
    action: 'Start it again and work on smaller pieces of data (e.g. xarray with dask chunks), or ask an administrator for a higher memory limit.',
  },
  SERVER_NOT_RUNNING: {
    status: 424,
    message: 'The server is not running.',
    action: 'Start it again from the hub home page.',
  },
  SANDBOX_UNAVAILABLE: {
    status: 500,
    message: 'The sandbox cannot be created on this machine.',
    action: 'Operator: install bubblewrap and run the hub as root (see README), or choose another spawner.',
  },
  CANNOT_DELETE_SELF: {
    status: 400,
    message: 'You cannot delete your own account.',
    action: 'Ask another administrator to delete it.',
  },
  LAST_ADMIN: {
    status: 400,
    message: 'The last administrator cannot be removed or demoted.',
    action: 'Make another user an administrator first.',
  },
  OAUTH_INVALID_CLIENT: {
    status: 400,
    message: 'Unknown OAuth client or redirect URI.',
    action: 'The single-user server is misconfigured; restart it from the hub.',
  },
  OAUTH_INVALID_GRANT: {
    status: 400,
    message: 'The authorization code is invalid, expired or already used.',
    action: 'Start the log-in again.',
  },
  OIDC_PROVIDER_UNAVAILABLE: {
    status: 502,
    message: 'The identity provider is not reachable right now.',
    action: 'Log in with your hub password or try again later; operator: check the provider\'s issuer URL and the network (the log names the provider).',
  },
  OIDC_LOGIN_FAILED: {
    status: 403,
    message: 'The log-in with the identity provider did not succeed.',
    action: 'Start the log-in again from the log-in page; it must be finished within a few minutes in the same browser.',
  },
  OIDC_NOT_ALLOWED: {
    status: 403,
    message: 'This identity is not allowed to log in here.',
    action: 'Log in with an identity of an allowed organisation (e-mail domain), or ask an administrator.',
  },
  OIDC_ACCOUNT_PENDING: {
    status: 403,
    message: 'Your account is waiting for approval by an administrator.',
    action: 'Log in again once an administrator has approved it; administrators approve in the API (/hub/api/eucp/oidc/pending).',
  },
  OIDC_NO_ACCOUNT: {
    status: 403,
    message: 'No account is linked to this identity.',
    action: 'Ask an administrator to create your account; then log in with its password and link the identity.',
  },
  OIDC_IDENTITY_TAKEN: {
    status: 409,
    message: 'This identity is already linked to another account.',
    action: 'Log in to that account instead, or unlink the identity there first.',
  },
  LAST_LOGIN_METHOD: {
    status: 409,
    message: 'This is the last way to log in to the account.',
    action: 'Set a password or link another identity first.',
  },
  DATA_FILE_INVALID: {
    status: 422,
    message: 'The data file is not a readable NetCDF file.',
    action:
      'The details name the file and the reason (truncated, not NetCDF, malformed, unsupported); replace or re-download the file, then re-scan the catalog.',
  },
  ACCESS_POLICY_INVALID: {
    status: 400,
    message: 'An access-control policy is not valid.',
    action:
      'Operator: fix the policy named in the details (its file and line or entry, and the regex) and restart the hub.',
  },
  LICENCE_NOT_ACCEPTED: {
    status: 400,
    message: 'The licence of the group has not been accepted.',
    action: 'Read the licence shown with the group and accept it (send accept_licence with its id) to request access.',
  },
  SEARCH_INVALID_PARAMETER: {
    status: 400,
    message: 'A search parameter is not valid.',
    action: 'Correct the parameter named in the details (the ESGF search API: esg-search/search) and search again.',
  },
  SERVER_WRITE_FAILED: {
    status: 502,
    message: 'Your server could not save the file.',
    action: 'The details give your server\'s answer (e.g. no space left: delete files you no longer need); try again, or restart your server from the home page.',
  },
  DATA_LOGIN_REQUIRED: {
    status: 401,
    message: 'Reading this data set needs you to log in.',
    action:
      'Log in to the hub in your browser, or send an API token (from the hub\'s Token page) in the header "Authorization: token <token>" (wget: --header, or EUCP_TOKEN for the hub\'s wget scripts).',
  },
  DATA_ACCESS_DENIED: {
    status: 403,
    message: 'You may not read this data set.',
    action:
      'Request membership of one of the access groups named in the details on the data set\'s catalog page (request_url); once it is approved, download the file again.',
  },
  RANGE_NOT_SATISFIABLE: {
    status: 416,
    message: 'The requested byte range is not within the file.',
    action: 'Ask for a range that starts before the file\'s size (Content-Range: bytes */<size> gives it); wget -c: the file is already complete.',
  },
  STORAGE_UNAVAILABLE: {
    status: 503,
    message: 'The storage for homes and quotas is not available.',
    action:
      'Operator: fix what the details name (root, btrfs-progs, a free loop device, the image or mount), or set storage.backend = "plain" in the configuration (quotas are then not enforced).',
  },
  QUOTA_BELOW_USAGE: {
    status: 400,
    message: 'The hard limit is below what is already stored.',
    action: 'Choose a hard limit above the current usage named in the details, or ask the owner to delete files first.',
  },
  SHARE_PATH_INVALID: {
    status: 400,
    message: 'That path cannot be shared.',
    action: 'Give a path inside your own area, relative to it, without "..", and with no symbolic link in it (share the real file or folder instead).',
  },
  SHARE_LINK_EXPIRED: {
    status: 410,
    message: 'This share link has expired or was revoked.',
    action: 'Ask the owner for a new link.',
  },
  SHARE_MANAGED: {
    status: 409,
    message: 'The readers of this share follow a published derived data set.',
    action: 'Choose its readers on the catalog\'s publish page (/hub/catalog/publish): publish it again with the audience you want, or unpublish it.',
  },
  SHARING_UNAVAILABLE: {
    status: 503,
    message: 'Shared files cannot be shown in sandboxes on this machine.',
    action: 'Operator: the hub must run as root with bindfs and fuse3 installed (/dev/fuse present); the details name what is missing. Shares are recorded and appear once this is fixed.',
  },
  DERIVED_FILES_INVALID: {
    status: 400,
    message: 'That folder cannot be published as a data set.',
    action: 'Publish a folder of your own area holding at least one readable NetCDF file (.nc) and no symbolic links; the details name the file at fault.',
  },
  DERIVED_INPUT_UNREADABLE: {
    status: 400,
    message: 'You cannot publish derived data from an input you may not read.',
    action: 'Request access to the input named in the details (its access group is named), or remove it from the inputs.',
  },
  DERIVED_ACCESS_TOO_WIDE: {
    status: 400,
    message: 'The derived data set cannot be more open than its inputs.',
    action: 'Choose users or groups instead of "public": an input is restricted to the access group named in the details, and only its members may read data derived from it.',
  },
  NOTEBOOK_INVALID: {
    status: 422,
    message: 'The notebook cannot be displayed: it is not a valid Jupyter notebook.',
    action: 'The details name the problem (line and column, or the cell and field); open the file in your server to repair it.',
  },
  NOTEBOOK_TOO_LARGE: {
    status: 413,
    message: 'The notebook is too large to display here.',
    action: 'Open it in your own server, or clear large outputs; operators can raise viewer.maxNotebookBytes.',
  },
  VIEWER_LINK_INVALID: {
    status: 403,
    message: 'This view of the notebook has expired or is not valid.',
    action: 'Reload the notebook page in the hub (/hub/view/…) to get a fresh view.',
  },
  VIEWER_UNAVAILABLE: {
    status: 503,
    message: 'The notebook viewer is not running.',
    action: 'Operator: check viewer.listen and viewer.publicUrl in the configuration and the hub log, then restart the hub.',
  },
  INTERNAL: {
    status: 500,
    message: 'Something went wrong on our side.',
    action: 'Try again; if it persists, give an administrator the time of the error (it is logged).',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

/** The one error class of EUCP Notebook. `detail` says what exactly was wrong. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  /** Extra, safe-to-show fields (e.g. `{ key: 'spawner.memoryLimitBytes' }`). */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, detail?: string, fields: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    const spec = ERROR_CATALOG[code];
    super(detail ? `${spec.message} ${detail}` : spec.message, options);
    this.name = 'AppError';
    this.code = code;
    this.status = spec.status;
    this.detail = detail;
    this.fields = fields;
  }

  /** What to do next, from the catalog. */
  get action(): string {
    return ERROR_CATALOG[this.code].action;
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}

/** Renders the catalog as the Markdown of docs/errors.md. */
export function renderErrorCatalogMarkdown(): string {
  const lines = [
    '# Errors',
    '',
    '<!-- Generated from packages/core/src/errors.ts by `npm run eucp -- docs errors`; a test keeps it identical. -->',
    '',
    'Every error EUCP Notebook reports has one of these codes. API responses carry',
    '`{"status", "message", "code", "action"}`.',
    '',
    '| code | HTTP | message | what to do |',
    '|---|---|---|---|',
  ];
  for (const [code, spec] of Object.entries(ERROR_CATALOG)) {
    lines.push(`| \`${code}\` | ${spec.status} | ${spec.message} | ${spec.action} |`);
  }
  return lines.join('\n') + '\n';
}
