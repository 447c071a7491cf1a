/**
 * Reader of the NetCDF classic formats' header: CDF-1 (classic), CDF-2 (64-bit offset) and
 * CDF-5 (64-bit data), per Unidata's "NetCDF Classic and 64-bit Offset Format" and the
 * PnetCDF CDF-5 specification. All numbers are big-endian.
 *
 * Only the header bytes are read: a bounded prefix (32 KiB first), doubled while the header
 * runs past it. Variable values are read on demand with positioned reads (e.g. the first and
 * last time step), never the whole file. The data section's extent is checked against the
 * file size, so a half-copied file is reported as truncated, not indexed.
 */
import type { FileHandle } from 'node:fs/promises';
import { AppError } from '@eucp/core';
import { ncInvalid, type NcAttributes, type NcDimension, type NcFormat, type NcTypeName, type NcVariable } from './types.js';

const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;
/** `numrecs` of a file still being written ("streaming"): count from the file size instead. */
const STREAMING = 0xffffffff;
/** First prefix read for the header; doubled while the header is longer. */
export const INITIAL_PREFIX_BYTES = 32 * 1024;

const TYPES: Readonly<Record<number, { name: NcTypeName; size: number; cdf5?: boolean }>> = {
  1: { name: 'byte', size: 1 },
  2: { name: 'char', size: 1 },
  3: { name: 'short', size: 2 },
  4: { name: 'int', size: 4 },
  5: { name: 'float', size: 4 },
  6: { name: 'double', size: 8 },
  7: { name: 'ubyte', size: 1, cdf5: true },
  8: { name: 'ushort', size: 2, cdf5: true },
  9: { name: 'uint', size: 4, cdf5: true },
  10: { name: 'int64', size: 8, cdf5: true },
  11: { name: 'uint64', size: 8, cdf5: true },
};
const SIZE_OF: Readonly<Partial<Record<NcTypeName, number>>> = Object.fromEntries(Object.values(TYPES).map((t) => [t.name, t.size]));

/** Where a variable's data lies. */
interface Layout {
  begin: number;
  isRecord: boolean;
  /** Bytes of one row along the first dimension (the record dimension for record variables). */
  rowBytes: number;
  /** Bytes of the whole (non-record) variable, unpadded. */
  totalBytes: number;
}

/** A parsed classic header with the layout needed to read values. */
export interface ClassicHeader {
  format: NcFormat;
  dimensions: NcDimension[];
  variables: NcVariable[];
  attributes: NcAttributes;
  layouts: Map<string, Layout>;
  numrecs: number;
  recsize: number;
}

class NeedMore extends Error {}

const decoder = new TextDecoder('utf-8', { fatal: false });

class Cursor {
  pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly fileSize: number,
    readonly path: string,
    readonly version: number,
  ) {}
  need(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    if (this.buf.length < this.fileSize) throw new NeedMore();
    throw ncInvalid(this.path, 'truncated', `header ends after ${this.fileSize} bytes (needs more than ${this.pos + n})`);
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw ncInvalid(this.path, 'malformed', `count ${v} at byte ${this.pos - 8} is out of range`);
    return Number(v);
  }
  /** NON_NEG: 32-bit in CDF-1/2, 64-bit in CDF-5. */
  count(): number {
    return this.version === 5 ? this.u64() : this.u32();
  }
  /** OFFSET: 32-bit in CDF-1, 64-bit in CDF-2/5. */
  offset(): number {
    return this.version === 1 ? this.u32() : this.u64();
  }
  bytes(n: number): Buffer {
    // A count larger than the whole file cannot be a prefix problem: the header is wrong.
    if (n > this.fileSize) throw ncInvalid(this.path, 'malformed', `a header field claims ${n} bytes, more than the file's ${this.fileSize}`);
    const padded = (n + 3) & ~3;
    this.need(padded);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += padded;
    return b;
  }
  name(): string {
    const n = this.count();
    if (n === 0 || n > 65536) throw ncInvalid(this.path, 'malformed', `name length ${n} at byte ${this.pos - 4}`);
    return decoder.decode(this.bytes(n));
  }
}

function readValuesOf(c: Cursor, type: { name: NcTypeName; size: number }, n: number): number[] {
  const b = c.bytes(n * type.size);
  const out = new Array<number>(n);
  for (let k = 0; k < n; k++) out[k] = decodeAt(b, type.name, k * type.size);
  return out;
}

/** One big-endian value of a numeric type at a byte offset. */
export function decodeAt(b: Buffer, type: NcTypeName, at: number): number {
  switch (type) {
    case 'byte':
      return b.readInt8(at);
    case 'ubyte':
    case 'char':
      return b.readUInt8(at);
    case 'short':
      return b.readInt16BE(at);
    case 'ushort':
      return b.readUInt16BE(at);
    case 'int':
      return b.readInt32BE(at);
    case 'uint':
      return b.readUInt32BE(at);
    case 'float':
      return b.readFloatBE(at);
    case 'double':
      return b.readDoubleBE(at);
    case 'int64':
      return Number(b.readBigInt64BE(at));
    case 'uint64':
      return Number(b.readBigUInt64BE(at));
    default:
      throw new Error(`not a numeric type: ${type}`);
  }
}

function typeOf(c: Cursor, code: number): { name: NcTypeName; size: number } {
  const t = TYPES[code];
  if (!t || (t.cdf5 && c.version !== 5)) throw ncInvalid(c.path, 'malformed', `unknown data type ${code} at byte ${c.pos - 4}`);
  return t;
}

function listHeader(c: Cursor, tag: number, what: string): number {
  const t = c.u32();
  const n = c.count();
  if (t === 0 && n === 0) return 0;
  if (t !== tag) throw ncInvalid(c.path, 'malformed', `expected the ${what} list tag at byte ${c.pos - (c.version === 5 ? 12 : 8)}, found 0x${t.toString(16)}`);
  return n;
}

function attributes(c: Cursor): NcAttributes {
  const n = listHeader(c, NC_ATTRIBUTE, 'attribute');
  const out: NcAttributes = {};
  for (let k = 0; k < n; k++) {
    const name = c.name();
    const type = typeOf(c, c.u32());
    const count = c.count();
    out[name] = type.name === 'char' ? decoder.decode(c.bytes(count)).replace(/\0+$/, '') : readValuesOf(c, type, count);
  }
  return out;
}

function parse(buf: Buffer, fileSize: number, path: string): ClassicHeader {
  const version = buf[3]!;
  const c = new Cursor(buf, fileSize, path, version);
  c.pos = 4;
  let numrecs = version === 5 ? c.u64() : c.u32();
  const streaming = version !== 5 && numrecs === STREAMING;

  const nd = listHeader(c, NC_DIMENSION, 'dimension');
  const dims: { name: string; length: number }[] = [];
  for (let k = 0; k < nd; k++) dims.push({ name: c.name(), length: c.count() });
  const recDim = dims.findIndex((d) => d.length === 0);
  if (dims.filter((d) => d.length === 0).length > 1) throw ncInvalid(path, 'malformed', 'more than one unlimited dimension');
  const attrs = attributes(c);

  const nv = listHeader(c, NC_VARIABLE, 'variable');
  const raw: { name: string; dimIds: number[]; attrs: NcAttributes; type: { name: NcTypeName; size: number }; begin: number }[] = [];
  for (let k = 0; k < nv; k++) {
    const name = c.name();
    const rank = c.count();
    if (rank > 1024) throw ncInvalid(path, 'malformed', `variable ${name} claims ${rank} dimensions`);
    const dimIds: number[] = [];
    for (let r = 0; r < rank; r++) {
      const id = c.count();
      if (id >= dims.length) throw ncInvalid(path, 'malformed', `variable ${name} uses dimension id ${id} of ${dims.length}`);
      if (id === recDim && r !== 0) throw ncInvalid(path, 'malformed', `variable ${name}: the unlimited dimension is not first`);
      dimIds.push(id);
    }
    const vattrs = attributes(c);
    const type = typeOf(c, c.u32());
    c.count(); // vsize: recomputed below, since writers cap it at 2^32 - 4 for huge variables
    const begin = c.offset();
    raw.push({ name, dimIds, attrs: vattrs, type, begin });
  }
  const headerEnd = c.pos;

  const recordVars = raw.filter((v) => v.dimIds.length > 0 && v.dimIds[0] === recDim);
  const innerBytes = (v: (typeof raw)[number], skipFirst: boolean): number =>
    v.dimIds.slice(skipFirst ? 1 : 0).reduce((n, id) => n * dims[id]!.length, 1) * v.type.size;
  // One record variable is stored unpadded; several are each padded to 4 bytes per record.
  const recsize = recordVars.length === 1 ? innerBytes(recordVars[0]!, true) : recordVars.reduce((n, v) => n + ((innerBytes(v, true) + 3) & ~3), 0);
  if (streaming) {
    const recStart = recordVars.length ? Math.min(...recordVars.map((v) => v.begin)) : fileSize;
    numrecs = recsize > 0 ? Math.floor((fileSize - recStart) / recsize) : 0;
  }

  const layouts = new Map<string, Layout>();
  let dataEnd = headerEnd;
  const variables: NcVariable[] = raw.map((v) => {
    const isRecord = recordVars.includes(v);
    const shape = v.dimIds.map((id) => (id === recDim ? numrecs : dims[id]!.length));
    const rowBytes = v.dimIds.length === 0 ? v.type.size : innerBytes(v, true);
    const totalBytes = isRecord ? 0 : innerBytes(v, false);
    if (v.begin < headerEnd && (isRecord ? numrecs > 0 : totalBytes > 0)) {
      throw ncInvalid(path, 'malformed', `variable ${v.name} starts at byte ${v.begin}, inside the header (ends at ${headerEnd})`);
    }
    const end = isRecord ? (numrecs > 0 ? v.begin + (numrecs - 1) * recsize + rowBytes : 0) : v.begin + totalBytes;
    dataEnd = Math.max(dataEnd, end);
    layouts.set(v.name, { begin: v.begin, isRecord, rowBytes, totalBytes });
    return { name: v.name, dims: v.dimIds.map((id) => dims[id]!.name), shape, type: v.type.name, attributes: v.attrs };
  });
  if (dataEnd > fileSize) {
    throw ncInvalid(path, 'truncated', `the data ends at byte ${dataEnd} but the file has ${fileSize} bytes`);
  }
  const format: NcFormat = version === 1 ? 'classic' : version === 2 ? '64-bit offset' : 'cdf5';
  const dimensions = dims.map((d, k) => ({ name: d.name, size: k === recDim ? numrecs : d.length, unlimited: k === recDim }));
  return { format, dimensions, variables, attributes: attrs, layouts, numrecs, recsize };
}

/** Reads exactly `length` bytes at `position`, or reports the file as truncated. */
export async function readExactly(fh: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw ncInvalid(path, 'truncated', `expected ${length} bytes at byte ${position}, the file ends after ${position + got}`);
    got += bytesRead;
  }
  return buf;
}

/**
 * Parses the header of a classic-format file whose first bytes `prefix` have been read
 * (`prefix` starts with `CDF` + version 1, 2 or 5). Reads more only if the header is longer.
 * @throws AppError `DATA_FILE_INVALID` (`truncated`, `malformed`).
 */
export async function readClassicHeader(fh: FileHandle, path: string, fileSize: number, prefix: Buffer): Promise<ClassicHeader> {
  let buf = prefix;
  for (;;) {
    try {
      return parse(buf, fileSize, path);
    } catch (err) {
      if (!(err instanceof NeedMore)) throw err;
      buf = await readExactly(fh, path, 0, Math.min(fileSize, buf.length * 2));
    }
  }
}

/** Reads values of a variable (all, or the given rows along its first dimension) as doubles. */
export async function readClassicValues(fh: FileHandle, path: string, h: ClassicHeader, name: string, index?: readonly number[]): Promise<Float64Array> {
  const v = h.variables.find((x) => x.name === name);
  const l = h.layouts.get(name);
  if (!v || !l) throw new AppError('NOT_FOUND', `No variable ${name} in ${path}.`);
  const size = SIZE_OF[v.type];
  if (size === undefined || v.type === 'char') throw ncInvalid(path, 'unsupported', `variable ${name} has non-numeric type ${v.type}`);
  const rows = v.dims.length === 0 ? 1 : v.shape[0]!;
  const perRow = l.rowBytes / size;
  const wanted = index ?? Array.from({ length: rows }, (_, k) => k);
  const out = new Float64Array(wanted.length * perRow);
  if (!l.isRecord && index === undefined) {
    const b = await readExactly(fh, path, l.begin, l.totalBytes);
    for (let k = 0; k < out.length; k++) out[k] = decodeAt(b, v.type, k * size);
    return out;
  }
  for (let r = 0; r < wanted.length; r++) {
    const row = wanted[r]!;
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new AppError('INVALID_INPUT', `Row ${row} of ${name} is out of range 0..${rows - 1}.`);
    const at = l.begin + row * (l.isRecord ? h.recsize : l.rowBytes);
    const b = await readExactly(fh, path, at, l.rowBytes);
    for (let k = 0; k < perRow; k++) out[r * perRow + k] = decodeAt(b, v.type, k * size);
  }
  return out;
}
