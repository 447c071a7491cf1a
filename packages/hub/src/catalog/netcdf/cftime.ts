/**
 * CF time decoding: `"<unit> since <reference>"` + `calendar` → calendar dates.
 *
 * Calendars (CF 1.11 §4.4.1): `standard`/`gregorian` (Julian before 1582-10-15, Gregorian
 * from then on), `proleptic_gregorian`, `julian`, `noleap`/`365_day`, `all_leap`/`366_day`,
 * `360_day`. Units: seconds … days and weeks; `months`/`years` only in `360_day`, where they are
 * exact (30 and 360 days), as cftime allows. Instants are rounded to whole seconds.
 */

/** Calendars the decoder knows, by their canonical name. */
export type CfCalendar = 'standard' | 'proleptic_gregorian' | 'julian' | 'noleap' | 'all_leap' | '360_day';

const CALENDAR_ALIASES: Readonly<Record<string, CfCalendar>> = {
  standard: 'standard',
  gregorian: 'standard',
  proleptic_gregorian: 'proleptic_gregorian',
  julian: 'julian',
  noleap: 'noleap',
  '365_day': 'noleap',
  all_leap: 'all_leap',
  '366_day': 'all_leap',
  '360_day': '360_day',
};

/** The canonical calendar of a `calendar` attribute (absent → standard), or null if unknown (e.g. `none`). */
export function canonicalCalendar(attr: string | undefined): CfCalendar | null {
  return CALENDAR_ALIASES[(attr ?? 'standard').trim().toLowerCase()] ?? null;
}

const UNIT_SECONDS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^(days?|d)$/, 86400],
  [/^(hours?|hrs?|h)$/, 3600],
  [/^(minutes?|mins?)$/, 60],
  [/^(seconds?|secs?|s)$/, 1],
  [/^(milliseconds?|msecs?|ms)$/, 1e-3],
  [/^(microseconds?|usecs?|us)$/, 1e-6],
  [/^(weeks?)$/, 7 * 86400],
];

/** A calendar date and time of day. */
export interface CfDateTime {
  readonly y: number;
  readonly m: number;
  readonly d: number;
  /** Seconds since midnight, 0 ≤ s < 86400. */
  readonly s: number;
}

/** Parsed `units`: the length of one unit in seconds and the reference instant. */
export interface CfTimeUnits {
  readonly unitSeconds: number;
  readonly ref: CfDateTime;
}

const NOLEAP = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const ALLLEAP = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const cumulative = (months: number[]): number[] => months.map((_, i) => months.slice(0, i).reduce((a, b) => a + b, 0));
const NOLEAP_CUM = cumulative(NOLEAP);
const ALLLEAP_CUM = cumulative(ALLLEAP);

/**
 * Parses CF time `units`, e.g. `days since 1850-01-01 00:00:00`, `hours since 2000-1-1T06:00Z`.
 * @returns null if the text is not a CF time unit this decoder supports for `calendar`.
 */
export function parseTimeUnits(units: string, calendar: CfCalendar): CfTimeUnits | null {
  const m = /^\s*([A-Za-z]+)\s+since\s+(.+?)\s*$/i.exec(units);
  if (!m) return null;
  const unit = m[1]!.toLowerCase();
  let unitSeconds = UNIT_SECONDS.find(([re]) => re.test(unit))?.[1];
  if (unitSeconds === undefined && calendar === '360_day') {
    if (/^months?$/.test(unit)) unitSeconds = 30 * 86400;
    if (/^years?$/.test(unit)) unitSeconds = 360 * 86400;
  }
  if (unitSeconds === undefined) return null;
  const r = /^(-?\d{1,4})-(\d{1,2})-(\d{1,2})(?:[T\s]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?)?\s*(Z|UTC|GMT|[+-]\d{1,2}(?::?\d{2})?)?$/i.exec(m[2]!);
  if (!r) return null;
  const y = Number(r[1]), mo = Number(r[2]), d = Number(r[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > monthLength(calendar, y, mo)) return null;
  let s = Number(r[4] ?? 0) * 3600 + Number(r[5] ?? 0) * 60 + Number(r[6] ?? 0);
  const tz = r[7];
  if (tz && /^[+-]/.test(tz)) {
    const tm = /^([+-])(\d{1,2}):?(\d{2})?$/.exec(tz)!;
    s -= (tm[1] === '-' ? -1 : 1) * (Number(tm[2]) * 3600 + Number(tm[3] ?? 0) * 60);
  }
  const day = dayNumber(calendar, y, mo, d) + Math.floor(s / 86400);
  return { unitSeconds, ref: { ...dateOf(calendar, day), s: ((s % 86400) + 86400) % 86400 } };
}

function isGregorianLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

function isJulianLeap(y: number): boolean {
  return ((y % 4) + 4) % 4 === 0;
}

function monthLength(cal: CfCalendar, y: number, m: number): number {
  switch (cal) {
    case '360_day':
      return 30;
    case 'noleap':
      return NOLEAP[m - 1]!;
    case 'all_leap':
      return ALLLEAP[m - 1]!;
    case 'julian':
      return m === 2 && isJulianLeap(y) ? 29 : NOLEAP[m - 1]!;
    case 'proleptic_gregorian':
      return m === 2 && isGregorianLeap(y) ? 29 : NOLEAP[m - 1]!;
    case 'standard':
      return m === 2 && (y < 1582 ? isJulianLeap(y) : isGregorianLeap(y)) ? 29 : NOLEAP[m - 1]!;
  }
}

function gregorianJdn(y: number, m: number, d: number): number {
  const a = Math.floor((14 - m) / 12);
  const yy = y + 4800 - a;
  const mm = m + 12 * a - 3;
  return d + Math.floor((153 * mm + 2) / 5) + 365 * yy + Math.floor(yy / 4) - Math.floor(yy / 100) + Math.floor(yy / 400) - 32045;
}

function julianJdn(y: number, m: number, d: number): number {
  const a = Math.floor((14 - m) / 12);
  const yy = y + 4800 - a;
  const mm = m + 12 * a - 3;
  return d + Math.floor((153 * mm + 2) / 5) + 365 * yy + Math.floor(yy / 4) - 32083;
}

function fromJdn(jdn: number, gregorian: boolean): { y: number; m: number; d: number } {
  let c: number;
  let b = 0;
  if (gregorian) {
    const a = jdn + 32044;
    b = Math.floor((4 * a + 3) / 146097);
    c = a - Math.floor((146097 * b) / 4);
  } else {
    c = jdn + 32082;
  }
  const d = Math.floor((4 * c + 3) / 1461);
  const e = c - Math.floor((1461 * d) / 4);
  const m = Math.floor((5 * e + 2) / 153);
  return {
    d: e - Math.floor((153 * m + 2) / 5) + 1,
    m: m + 3 - 12 * Math.floor(m / 10),
    y: 100 * b + d - 4800 + Math.floor(m / 10),
  };
}

/** First day of the Gregorian calendar in the `standard` calendar (1582-10-15), as a JDN. */
const GREGORIAN_START_JDN = 2299161;

/** A continuous day count of a date in a calendar (JDN for the real-world calendars). */
export function dayNumber(cal: CfCalendar, y: number, m: number, d: number): number {
  switch (cal) {
    case '360_day':
      return y * 360 + (m - 1) * 30 + (d - 1);
    case 'noleap':
      return y * 365 + NOLEAP_CUM[m - 1]! + d - 1;
    case 'all_leap':
      return y * 366 + ALLLEAP_CUM[m - 1]! + d - 1;
    case 'julian':
      return julianJdn(y, m, d);
    case 'proleptic_gregorian':
      return gregorianJdn(y, m, d);
    case 'standard': {
      const before = y < 1582 || (y === 1582 && (m < 10 || (m === 10 && d < 15)));
      return before ? julianJdn(y, m, d) : gregorianJdn(y, m, d);
    }
  }
}

/** Inverse of {@link dayNumber}. */
export function dateOf(cal: CfCalendar, n: number): { y: number; m: number; d: number } {
  const fixedYear = (len: number, cum: number[]): { y: number; m: number; d: number } => {
    const y = Math.floor(n / len);
    const doy = n - y * len;
    let m = 12;
    while (cum[m - 1]! > doy) m--;
    return { y, m, d: doy - cum[m - 1]! + 1 };
  };
  switch (cal) {
    case '360_day': {
      const y = Math.floor(n / 360);
      const doy = n - y * 360;
      return { y, m: Math.floor(doy / 30) + 1, d: (doy % 30) + 1 };
    }
    case 'noleap':
      return fixedYear(365, NOLEAP_CUM);
    case 'all_leap':
      return fixedYear(366, ALLLEAP_CUM);
    case 'julian':
      return fromJdn(n, false);
    case 'proleptic_gregorian':
      return fromJdn(n, true);
    case 'standard':
      return fromJdn(n, n >= GREGORIAN_START_JDN);
  }
}

/** The instant `value` units after the reference, rounded to the second. */
export function decodeTime(value: number, units: CfTimeUnits, cal: CfCalendar): CfDateTime {
  const { ref } = units;
  const secs = Math.round(ref.s + value * units.unitSeconds);
  const days = Math.floor(secs / 86400);
  const date = dateOf(cal, dayNumber(cal, ref.y, ref.m, ref.d) + days);
  return { ...date, s: secs - days * 86400 };
}

const p2 = (n: number): string => String(n).padStart(2, '0');

/** `YYYY-MM-DDTHH:MM:SSZ` (years below 0 get a leading minus). */
export function isoOf(t: CfDateTime): string {
  const year = t.y < 0 ? `-${String(-t.y).padStart(4, '0')}` : String(t.y).padStart(4, '0');
  const h = Math.floor(t.s / 3600), mi = Math.floor((t.s % 3600) / 60), s = t.s % 60;
  return `${year}-${p2(t.m)}-${p2(t.d)}T${p2(h)}:${p2(mi)}:${p2(s)}Z`;
}

/**
 * Decodes a value to ISO text, or explains why it cannot.
 * @returns `{ iso }` or `{ problem }` (unknown calendar, unsupported units, not finite).
 */
export function decodeToIso(value: number, units: string, calendarAttr: string | undefined): { iso: string } | { problem: string } {
  const cal = canonicalCalendar(calendarAttr);
  if (!cal) return { problem: `unknown calendar ${JSON.stringify(calendarAttr)}` };
  const u = parseTimeUnits(units, cal);
  if (!u) return { problem: `unsupported time units ${JSON.stringify(units)} for calendar ${cal}` };
  if (!Number.isFinite(value)) return { problem: `time value ${value} is not finite` };
  return { iso: isoOf(decodeTime(value, u, cal)) };
}
