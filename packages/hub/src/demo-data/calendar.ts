/**
 * CF calendars used by EUCP-SYN (`noleap`, `360_day`, `proleptic_gregorian`) and the time axes
 * built on them: mid-interval stamps and bounds in "days since <reference>", as CMOR writes them.
 */

/** CF calendar names used by the data set. */
export type Calendar = 'noleap' | '360_day' | 'proleptic_gregorian';

/** A calendar date; months and days count from 1. */
export interface YMD {
  readonly y: number;
  readonly m: number;
  readonly d: number;
}

const NOLEAP_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days per year used for the seasonal phase (`L_cal` in §3.5). */
export function yearLength(cal: Calendar): number {
  return cal === '360_day' ? 360 : cal === 'noleap' ? 365 : 365.2425;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** Number of days in month `m` of year `y`. */
export function daysInMonth(cal: Calendar, y: number, m: number): number {
  if (cal === '360_day') return 30;
  if (cal === 'proleptic_gregorian' && m === 2 && isLeap(y)) return 29;
  return NOLEAP_MONTH[m - 1]!;
}

/** Day number of a date on a continuous count (arbitrary epoch, per calendar). */
function dayNumber(cal: Calendar, { y, m, d }: YMD): number {
  if (cal === '360_day') return y * 360 + (m - 1) * 30 + (d - 1);
  if (cal === 'noleap') {
    let n = y * 365;
    for (let k = 1; k < m; k++) n += NOLEAP_MONTH[k - 1]!;
    return n + d - 1;
  }
  // Days from civil (H. Hinnant), valid for the proleptic Gregorian calendar.
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe;
}

/** Days from `ref` to `date` in calendar `cal`. */
export function daysBetween(cal: Calendar, ref: YMD, date: YMD): number {
  return dayNumber(cal, date) - dayNumber(cal, ref);
}

/** One time step: stamp and bounds in days since the axis reference, plus the phases the fields need. */
export interface TimeStep {
  /** Mid-interval stamp (days since reference). */
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
  /** The stamp as `YYYY-MM-DDTHH:MM:SSZ` in the model calendar (360_day dates are valid here: days ≤ 30). */
  readonly iso: string;
  readonly lowerIso: string;
  readonly upperIso: string;
  /** Year of the stamp. */
  readonly year: number;
  /** Seasonal phase `f = (t − t_Jan15) / L_cal` of §3.5. */
  readonly f: number;
  /** Calendar year plus the fraction of the year elapsed since 1 January (for trends). */
  readonly decimalYear: number;
}

/** A time axis: steps, CF units and calendar. */
export interface TimeAxis {
  readonly calendar: Calendar;
  /** e.g. `days since 1850-01-01 00:00:00`. */
  readonly units: string;
  readonly steps: readonly TimeStep[];
  /** Precision of time-range labels: `mon` → yyyyMM, `day` → yyyyMMdd. */
  readonly frequency: 'mon' | 'day';
}

const p2 = (n: number): string => String(n).padStart(2, '0');
const p4 = (n: number): string => String(n).padStart(4, '0');

function isoOf(date: YMD, hours: number): string {
  const h = Math.floor(hours);
  const min = Math.round((hours - h) * 60);
  return `${p4(date.y)}-${p2(date.m)}-${p2(date.d)}T${p2(h)}:${p2(min)}:00Z`;
}

function nextMonth({ y, m }: { y: number; m: number }): { y: number; m: number } {
  return m === 12 ? { y: y + 1, m: 1 } : { y, m: m + 1 };
}

function step(cal: Calendar, ref: YMD, lowerDate: YMD, upperDate: YMD): TimeStep {
  const lower = daysBetween(cal, ref, lowerDate);
  const upper = daysBetween(cal, ref, upperDate);
  const value = (lower + upper) / 2;
  const half = (upper - lower) / 2;
  const midDate: YMD = { y: lowerDate.y, m: lowerDate.m, d: lowerDate.d + Math.floor(half) };
  const L = yearLength(cal);
  const jan15 = daysBetween(cal, ref, { y: midDate.y, m: 1, d: 15 });
  const jan1 = daysBetween(cal, ref, { y: midDate.y, m: 1, d: 1 });
  return {
    value,
    lower,
    upper,
    iso: isoOf(midDate, (half - Math.floor(half)) * 24),
    lowerIso: isoOf(lowerDate, 0),
    upperIso: isoOf(upperDate, 0),
    year: midDate.y,
    f: (value - jan15) / L,
    decimalYear: midDate.y + (value - jan1) / L,
  };
}

/** CF units string for days since `ref`. */
export function daysSinceUnits(ref: YMD): string {
  return `days since ${p4(ref.y)}-${p2(ref.m)}-${p2(ref.d)} 00:00:00`;
}

/** Monthly-mean axis of `months` steps from `start` (month `start.m` of `start.y`). */
export function monthlyAxis(cal: Calendar, ref: YMD, start: { y: number; m: number }, months: number): TimeAxis {
  const steps: TimeStep[] = [];
  let cur = start;
  for (let k = 0; k < months; k++) {
    const next = nextMonth(cur);
    steps.push(step(cal, ref, { ...cur, d: 1 }, { ...next, d: 1 }));
    cur = next;
  }
  return { calendar: cal, units: daysSinceUnits(ref), steps, frequency: 'mon' };
}

/** Daily-mean axis of `days` steps from `start`. */
export function dailyAxis(cal: Calendar, ref: YMD, start: YMD, days: number): TimeAxis {
  const steps: TimeStep[] = [];
  let cur = start;
  for (let k = 0; k < days; k++) {
    let next: YMD = { ...cur, d: cur.d + 1 };
    if (next.d > daysInMonth(cal, cur.y, cur.m)) next = { ...nextMonth(cur), d: 1 };
    steps.push(step(cal, ref, cur, next));
    cur = next;
  }
  return { calendar: cal, units: daysSinceUnits(ref), steps, frequency: 'day' };
}

/** DRS time label of a step's interval start: `yyyyMM` (monthly) or `yyyyMMdd` (daily). */
export function stepLabel(axis: TimeAxis, s: TimeStep): string {
  const [date] = s.lowerIso.split('T') as [string];
  const [y, m, d] = date.split('-') as [string, string, string];
  return axis.frequency === 'mon' ? `${y}${m}` : `${y}${m}${d}`;
}

/** DRS `time_range` (`<first>-<last>`) of the steps `from..to-1` of an axis. */
export function timeRangeLabel(axis: TimeAxis, from: number, to: number): string {
  return `${stepLabel(axis, axis.steps[from]!)}-${stepLabel(axis, axis.steps[to - 1]!)}`;
}
