/**
 * NetCDF header reading in TypeScript: classic (CDF-1, CDF-2 64-bit offset, CDF-5) with our
 * own reader of just the header bytes, NetCDF-4/HDF5 through h5wasm on the real file. Both
 * give the same {@link NcHeader}, including the decoded first/last time of a CF time
 * coordinate (reading only those two values).
 *
 * Why not netcdfjs for the classic formats: it parses a buffer holding the whole file, knows
 * no CDF-5, and its errors are untyped strings. Files in a data cache can be gigabytes; our
 * reader reads a 32 KiB prefix (more only for longer headers) and positioned slices.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { AppError } from '@eucp/core';
import { decodeToIso } from './cftime.js';
import { INITIAL_PREFIX_BYTES, readClassicHeader, readClassicValues, readExactly } from './classic.js';
import { checkHdf5Length, HDF5_SIGNATURE, hdf5SuperblockOffset, openHdf5 } from './hdf5.js';
import { ncInvalid, type NcFileReader, type NcHeader, type NcTimeRange, type NcVariable } from './types.js';

export * from './types.js';
export { decodeToIso, canonicalCalendar } from './cftime.js';

/**
 * The time coordinate of a root group, if any: a 1-D coordinate variable (named like its
 * dimension) with `axis="T"` or `standard_name="time"`, else one named `time`; its `units`
 * must be "<unit> since <date>".
 */
export function findTimeVariable(vars: readonly NcVariable[]): NcVariable | undefined {
  const isTimeUnits = (v: NcVariable): boolean => typeof v.attributes['units'] === 'string' && /\bsince\b/i.test(v.attributes['units']);
  const coords = vars.filter((v) => v.dims.length === 1 && v.dims[0] === v.name && isTimeUnits(v));
  return (
    coords.find((v) => v.attributes['axis'] === 'T' || v.attributes['standard_name'] === 'time') ??
    coords.find((v) => v.name === 'time') ??
    vars.find((v) => v.name === 'time' && v.dims.length === 1 && isTimeUnits(v))
  );
}

const numberAttr = (v: NcVariable, name: string): number | undefined => {
  const a = v.attributes[name];
  return Array.isArray(a) && typeof a[0] === 'number' ? a[0] : undefined;
};

async function timeRange(
  header: Omit<NcHeader, 'time' | 'timeProblem'>,
  read: (name: string, index: readonly number[]) => Promise<Float64Array>,
): Promise<{ time: NcTimeRange | null; timeProblem?: string }> {
  const tv = findTimeVariable(header.variables);
  if (!tv) return { time: null };
  const length = tv.shape[0] ?? 0;
  if (length === 0) return { time: null, timeProblem: `time variable ${tv.name} has no values` };
  const raw = await read(tv.name, length === 1 ? [0] : [0, length - 1]);
  const scale = numberAttr(tv, 'scale_factor') ?? 1;
  const offset = numberAttr(tv, 'add_offset') ?? 0;
  const first = raw[0]! * scale + offset;
  const last = raw[raw.length - 1]! * scale + offset;
  const units = tv.attributes['units'] as string;
  const calAttr = typeof tv.attributes['calendar'] === 'string' ? tv.attributes['calendar'] : undefined;
  const a = decodeToIso(first, units, calAttr);
  const b = decodeToIso(last, units, calAttr);
  if ('problem' in a) return { time: null, timeProblem: a.problem };
  if ('problem' in b) return { time: null, timeProblem: b.problem };
  const calendar = (calAttr ?? 'standard').trim().toLowerCase();
  return { time: { variable: tv.name, units, calendar, length, first, last, firstIso: a.iso, lastIso: b.iso } };
}

function isPrefixOf(prefix: Buffer, whole: Buffer): boolean {
  return prefix.length < whole.length && whole.subarray(0, prefix.length).equals(prefix);
}

/**
 * Opens a NetCDF file (any of the four formats) and reads its header and time range.
 *
 * Reads the header bytes and the time coordinate's first and last value only. The caller
 * must `close()` the reader.
 * @throws AppError `DATA_FILE_INVALID` with `fields.reason`: `not-netcdf` (neither CDF nor
 *   HDF5 signature), `truncated` (empty, header cut off, or shorter than its data section),
 *   `malformed` (inconsistent header), `unsupported` (unknown CDF version), `unreadable`
 *   (I/O error, e.g. permissions or a directory).
 */
export async function openNetcdf(path: string): Promise<NcFileReader> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw ncInvalid(path, 'unreadable', (err as Error).message, err);
  }
  let handedOver = false;
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw ncInvalid(path, 'unreadable', 'not a regular file');
    const size = st.size;
    if (size === 0) throw ncInvalid(path, 'truncated', 'the file is empty');
    const prefix = await readExactly(fh, path, 0, Math.min(size, INITIAL_PREFIX_BYTES)).catch((err: unknown) => {
      throw err instanceof AppError ? err : ncInvalid(path, 'unreadable', (err as Error).message, err);
    });
    const magic = prefix.subarray(0, 3).toString('latin1');
    if (magic === 'CDF' && prefix.length >= 4) {
      const version = prefix[3]!;
      if (version !== 1 && version !== 2 && version !== 5) throw ncInvalid(path, 'unsupported', `CDF version ${version}`);
      const h = await readClassicHeader(fh, path, size, prefix);
      const base = { name: '/', format: h.format, dimensions: h.dimensions, variables: h.variables, attributes: h.attributes, groups: [] };
      const read = (name: string, index?: readonly number[]): Promise<Float64Array> => readClassicValues(fh, path, h, name, index);
      const header: NcHeader = { ...base, ...(await timeRange(base, read)) };
      handedOver = true;
      return { path, header, readValues: read, close: () => fh.close() };
    }
    const sb = hdf5SuperblockOffset(prefix);
    if (sb >= 0) {
      checkHdf5Length(prefix, sb, size, path);
      await fh.close();
      handedOver = true;
      const h5 = await openHdf5(path);
      try {
        const base = { ...h5.root, format: h5.format };
        const read = async (name: string, index?: readonly number[]): Promise<Float64Array> => h5.readValues(name, index);
        const header: NcHeader = { ...base, ...(await timeRange(base, read)) };
        return { path, header, readValues: read, close: async () => h5.close() };
      } catch (err) {
        h5.close();
        throw err;
      }
    }
    if (isPrefixOf(prefix, Buffer.from('CDF\x01', 'latin1')) || isPrefixOf(prefix, HDF5_SIGNATURE)) {
      throw ncInvalid(path, 'truncated', `the file ends after ${size} bytes, inside the format signature`);
    }
    throw ncInvalid(path, 'not-netcdf', 'no NetCDF classic ("CDF") or HDF5 signature at the start');
  } finally {
    if (!handedOver) await fh.close().catch(() => undefined);
  }
}

/**
 * Reads a file's header and time range, then closes it. See {@link openNetcdf} for errors.
 */
export async function readNetcdfHeader(path: string): Promise<NcHeader> {
  const r = await openNetcdf(path);
  try {
    return r.header;
  } finally {
    await r.close();
  }
}
