import { AppError } from '@eucp/core';

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
const SIZE = /^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*$/i;

/**
 * Parses a size: bytes as a number or digits, or with a binary unit (`500M`, `8G`,
 * `1.5GiB`, `10T`; K/M/G/T/P = powers of 1024). Throws `INVALID_INPUT` naming `field`.
 */
export function parseSize(raw: string | number, field = 'size'): number {
  if (typeof raw === 'number') {
    if (Number.isSafeInteger(raw) && raw > 0) return raw;
    throw new AppError('INVALID_INPUT', `"${field}": a size must be a positive whole number of bytes.`, { field });
  }
  const m = SIZE.exec(raw);
  const bytes = m ? Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new AppError('INVALID_INPUT', `"${field}": ${JSON.stringify(raw)} is not a size (e.g. 8G, 500M, 1.5T or bytes).`, { field });
  }
  return bytes;
}
