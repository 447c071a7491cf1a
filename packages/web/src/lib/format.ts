/** Display formatting shared by the pages. Pure functions, no DOM. */

const BYTE_UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * A byte count in binary units for people: `4 GiB`, `512 MiB`, `1.5 GiB`.
 * `null` (no limit) gives `No limit`. Negative or non-finite values give `—`.
 */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'No limit';
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${value} ${value === 1 ? 'byte' : 'bytes'}`;
  return `${trimNumber(value)} ${BYTE_UNITS[unit]}`;
}

/** CPU cores: `1 CPU core`, `2 CPU cores`, `0.5 CPU cores`; `null` gives `No limit`. */
export function formatCores(cores: number | null): string {
  if (cores === null) return 'No limit';
  if (!Number.isFinite(cores) || cores <= 0) return '—';
  return `${trimNumber(cores)} CPU ${cores === 1 ? 'core' : 'cores'}`;
}

/** At most two decimals, no trailing zeros: 1.5, 2, 0.25. */
function trimNumber(value: number): string {
  return String(Math.round(value * 100) / 100);
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/**
 * How long ago an ISO timestamp was, relative to `nowMs` (milliseconds since the epoch):
 * `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`, and the calendar date after a
 * month. `null` gives `never`; an unparsable string gives `—`.
 */
export function formatRelativeTime(iso: string | null, nowMs: number): string {
  if (iso === null) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const ago = nowMs - t;
  if (ago < MINUTE_MS) return 'just now';
  if (ago < HOUR_MS) return plural(Math.floor(ago / MINUTE_MS), 'minute') + ' ago';
  if (ago < DAY_MS) return plural(Math.floor(ago / HOUR_MS), 'hour') + ' ago';
  if (ago < 30 * DAY_MS) return plural(Math.floor(ago / DAY_MS), 'day') + ' ago';
  return formatDate(iso);
}

/** `2024-05-02` (UTC calendar date); `—` when unparsable. */
export function formatDate(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '—' : new Date(t).toISOString().slice(0, 10);
}

/** `2024-05-02 09:14 UTC`; `—` when unparsable. */
export function formatDateTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = new Date(t).toISOString();
  return `${s.slice(0, 10)} ${s.slice(11, 16)} UTC`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
