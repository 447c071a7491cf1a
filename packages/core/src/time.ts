/** JupyterHub's timestamp format: ISO 8601 UTC with `Z`, microseconds (omitted when zero). */
export function isoformat(date: Date | number | null | undefined): string | null {
  if (date === null || date === undefined) return null;
  const d = typeof date === 'number' ? new Date(date) : date;
  const ms = d.getUTCMilliseconds();
  const base = d.toISOString().slice(0, 19);
  return ms === 0 ? `${base}Z` : `${base}.${String(ms * 1000).padStart(6, '0')}Z`;
}

/** Parses an ISO 8601 timestamp (naive means UTC); returns null if it is not one. */
export function parseTimestamp(raw: unknown): number | null {
  if (typeof raw !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(raw)) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(raw);
  // JS Date keeps milliseconds; drop extra fractional digits before parsing.
  const normalized = raw.replace(/(\.\d{3})\d+/, '$1');
  const t = Date.parse(hasZone ? normalized : normalized + 'Z');
  return Number.isNaN(t) ? null : t;
}
