import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isoformat } from './time.js';

/** The definition: `toISOString`, microseconds, `Z`. */
function reference(t: number): string {
  const d = new Date(t);
  const ms = d.getUTCMilliseconds();
  const base = d.toISOString().slice(0, 19);
  return ms === 0 ? `${base}Z` : `${base}.${String(ms * 1000).padStart(6, '0')}Z`;
}

describe('isoformat', () => {
  it('formats like toISOString for every kind of date (leap days, ends of months, years, centuries)', () => {
    const edges = [
      0, 1, 999, 1000, 59_999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 12),
      Date.UTC(2100, 2, 1), Date.UTC(2024, 11, 31, 23, 59, 59, 1), Date.UTC(2400, 1, 29), Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    for (const t of edges) assert.equal(isoformat(t), reference(t), String(t));
    let seed = 42;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      const t = Math.floor(random() * 253_402_300_800_000);
      assert.equal(isoformat(t), reference(t), String(t));
    }
  });

  it('handles what the fast path does not: Dates, dates before 1970, fractions, null', () => {
    assert.equal(isoformat(new Date(Date.UTC(2024, 4, 2, 9, 14, 3, 5))), '2024-05-02T09:14:03.005000Z');
    assert.equal(isoformat(-1), '1969-12-31T23:59:59.999000Z');
    assert.equal(isoformat(1.5), '1970-01-01T00:00:00.001000Z');
    assert.equal(isoformat(null), null);
    assert.equal(isoformat(undefined), null);
    assert.throws(() => isoformat(Number.NaN), RangeError);
  });
});
