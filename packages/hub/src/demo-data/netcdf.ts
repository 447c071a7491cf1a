/**
 * A minimal NetCDF writer for the classic 64-bit-offset format (CDF-2), in pure TypeScript.
 *
 * Why CDF-2 and not NetCDF-4: the EUCP-SYN spec (§3.6) makes CDF-2 the default. It is a
 * plain, fully specified binary layout, so the same input always gives the same bytes (and
 * SHA-256), and ncdump, cdo, netCDF4-python and xarray read it. NetCDF-4 would need an HDF5
 * encoder whose output (object headers, B-trees, deflate) is far harder to keep stable.
 *
 * Layout reference: "NetCDF Classic and 64-bit Offset Format", Unidata netCDF-C docs
 * (file_format_specifications). All numbers are big-endian.
 */

/** External NetCDF classic data types. */
export type NcType = 'byte' | 'char' | 'short' | 'int' | 'float' | 'double';

const TYPE_CODE: Record<NcType, number> = { byte: 1, char: 2, short: 3, int: 4, float: 5, double: 6 };
const TYPE_SIZE: Record<NcType, number> = { byte: 1, char: 1, short: 2, int: 4, float: 4, double: 8 };

const NC_DIMENSION = 0x0a;
const NC_VARIABLE = 0x0b;
const NC_ATTRIBUTE = 0x0c;

/** A numeric attribute: its type and values. A string attribute is a plain JS string (NC_CHAR, UTF-8). */
export interface NcNumericAttr {
  readonly type: Exclude<NcType, 'char'>;
  readonly values: readonly number[];
}

/** An attribute value: text or typed numbers. */
export type NcAttrValue = string | NcNumericAttr;

/** Attributes in the order they are written. */
export type NcAttrs = ReadonlyArray<readonly [name: string, value: NcAttrValue]>;

/** A dimension; `size: 'unlimited'` makes it the record dimension (at most one, listed first by its variables). */
export interface NcDim {
  readonly name: string;
  readonly size: number | 'unlimited';
}

/** Numeric payload of a variable, flattened in C (row-major) order over its dimensions. */
export type NcData = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint8Array;

/** A variable: dimensions by name, type, attributes and all its values. */
export interface NcVar {
  readonly name: string;
  readonly dims: readonly string[];
  readonly type: NcType;
  readonly attrs: NcAttrs;
  /** For `char` variables, bytes; for the others, numbers of any typed array (converted on write). */
  readonly data: NcData;
}

/** A whole file: dimensions, global attributes and variables, written in the given order. */
export interface NcFile {
  readonly dims: readonly NcDim[];
  readonly attrs: NcAttrs;
  readonly vars: readonly NcVar[];
}

/** Helpers that build typed numeric attributes. */
export const ncAttr = {
  double: (...values: number[]): NcNumericAttr => ({ type: 'double', values }),
  float: (...values: number[]): NcNumericAttr => ({ type: 'float', values }),
  int: (...values: number[]): NcNumericAttr => ({ type: 'int', values }),
} as const;

const pad4 = (n: number): number => (n + 3) & ~3;
const utf8 = (s: string): Buffer => Buffer.from(s.normalize('NFC'), 'utf8');

/** Sizes of one attribute list in bytes (header form). */
function attrListSize(attrs: NcAttrs): number {
  if (attrs.length === 0) return 8;
  let n = 8;
  for (const [name, value] of attrs) {
    n += 4 + pad4(utf8(name).length) + 4 + 4;
    n += typeof value === 'string' ? pad4(utf8(value).length) : pad4(value.values.length * TYPE_SIZE[value.type]);
  }
  return n;
}

class Writer {
  readonly buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  u32(v: number): void {
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }
  u64(v: number): void {
    this.buf.writeBigUInt64BE(BigInt(v), this.pos);
    this.pos += 8;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos = pad4(this.pos + b.length); // header padding is zero bytes (buffer is zero-filled)
  }
  name(s: string): void {
    const b = utf8(s);
    this.u32(b.length);
    this.bytes(b);
  }
  attrs(attrs: NcAttrs): void {
    if (attrs.length === 0) {
      this.u32(0);
      this.u32(0);
      return;
    }
    this.u32(NC_ATTRIBUTE);
    this.u32(attrs.length);
    for (const [name, value] of attrs) {
      this.name(name);
      if (typeof value === 'string') {
        const b = utf8(value);
        this.u32(TYPE_CODE.char);
        this.u32(b.length);
        this.bytes(b);
      } else {
        this.u32(TYPE_CODE[value.type]);
        this.u32(value.values.length);
        const start = this.pos;
        for (const v of value.values) {
          writeValue(this.buf, value.type, this.pos, v);
          this.pos += TYPE_SIZE[value.type];
        }
        this.pos = start + pad4(value.values.length * TYPE_SIZE[value.type]);
      }
    }
  }
}

function writeValue(buf: Buffer, type: NcType, at: number, v: number): void {
  switch (type) {
    case 'byte':
      buf.writeInt8(v, at);
      break;
    case 'char':
      buf.writeUInt8(v, at);
      break;
    case 'short':
      buf.writeInt16BE(v, at);
      break;
    case 'int':
      buf.writeInt32BE(v, at);
      break;
    case 'float':
      buf.writeFloatBE(v, at);
      break;
    case 'double':
      buf.writeDoubleBE(v, at);
      break;
  }
}

/**
 * Encodes a file as NetCDF classic 64-bit offset (CDF-2) bytes.
 *
 * Deterministic: the output depends only on `file`. Data of record variables (those whose
 * first dimension is the unlimited one) is interleaved record by record, as the format requires.
 *
 * @throws Error if the description is inconsistent (unknown dimension, wrong data length,
 *   unlimited dimension not first, a record variable of a type smaller than 4 bytes). These are
 *   programming errors of the generator, not user input errors.
 */
export function encodeNetcdf(file: NcFile): Buffer {
  const dimIndex = new Map<string, number>();
  file.dims.forEach((d, i) => dimIndex.set(d.name, i));
  const unlimited = file.dims.filter((d) => d.size === 'unlimited');
  if (unlimited.length > 1) throw new Error('netcdf: more than one unlimited dimension');

  interface Layout {
    v: NcVar;
    isRecord: boolean;
    /** Values per record (record variables) or in total (fixed variables). */
    count: number;
    vsize: number;
    begin: number;
  }
  let numrecs = 0;
  const layouts: Layout[] = file.vars.map((v) => {
    const sizes = v.dims.map((name, k) => {
      const i = dimIndex.get(name);
      if (i === undefined) throw new Error(`netcdf: ${v.name} uses unknown dimension ${name}`);
      const d = file.dims[i]!;
      if (d.size === 'unlimited' && k !== 0) throw new Error(`netcdf: ${v.name}: unlimited dimension must come first`);
      return d.size;
    });
    const isRecord = sizes[0] === 'unlimited';
    const fixed = (isRecord ? sizes.slice(1) : sizes) as number[];
    const count = fixed.reduce((a, b) => a * b, 1);
    if (isRecord) {
      if (TYPE_SIZE[v.type] < 4) throw new Error(`netcdf: record variable ${v.name} must have a 4- or 8-byte type`);
      if (count === 0 || v.data.length % count !== 0) throw new Error(`netcdf: ${v.name}: data length ${v.data.length} is not a multiple of ${count}`);
      const recs = v.data.length / count;
      if (numrecs !== 0 && recs !== numrecs) throw new Error(`netcdf: ${v.name} has ${recs} records, others ${numrecs}`);
      numrecs = recs;
    } else if (v.data.length !== count) {
      throw new Error(`netcdf: ${v.name}: data length ${v.data.length}, expected ${count}`);
    }
    return { v, isRecord, count, vsize: pad4(count * TYPE_SIZE[v.type]), begin: 0 };
  });

  let headerSize = 4 + 4; // magic + numrecs
  headerSize += file.dims.length === 0 ? 8 : 8 + file.dims.reduce((n, d) => n + 4 + pad4(utf8(d.name).length) + 4, 0);
  headerSize += attrListSize(file.attrs);
  headerSize += 8;
  for (const { v } of layouts) {
    headerSize += 4 + pad4(utf8(v.name).length) + 4 + 4 * v.dims.length + attrListSize(v.attrs) + 4 + 4 + 8;
  }

  let offset = headerSize;
  for (const l of layouts.filter((x) => !x.isRecord)) {
    l.begin = offset;
    offset += l.vsize;
  }
  const recordStart = offset;
  let recsize = 0;
  for (const l of layouts.filter((x) => x.isRecord)) {
    l.begin = recordStart + recsize;
    recsize += l.vsize;
  }
  const total = recordStart + recsize * numrecs;
  if (layouts.some((l) => l.vsize > 0xffffffff)) throw new Error('netcdf: variable larger than 4 GiB');

  const w = new Writer(total);
  w.bytes(Buffer.from([0x43, 0x44, 0x46, 0x02])); // "CDF" + version 2 (64-bit offsets)
  w.u32(numrecs);
  if (file.dims.length === 0) {
    w.u32(0);
    w.u32(0);
  } else {
    w.u32(NC_DIMENSION);
    w.u32(file.dims.length);
    for (const d of file.dims) {
      w.name(d.name);
      w.u32(d.size === 'unlimited' ? 0 : d.size);
    }
  }
  w.attrs(file.attrs);
  if (layouts.length === 0) {
    w.u32(0);
    w.u32(0);
  } else {
    w.u32(NC_VARIABLE);
    w.u32(layouts.length);
    for (const l of layouts) {
      w.name(l.v.name);
      w.u32(l.v.dims.length);
      for (const d of l.v.dims) w.u32(dimIndex.get(d)!);
      w.attrs(l.v.attrs);
      w.u32(TYPE_CODE[l.v.type]);
      w.u32(l.vsize);
      w.u64(l.begin);
    }
  }
  if (w.pos !== headerSize) throw new Error(`netcdf: header size ${w.pos} != computed ${headerSize}`);

  const size = (t: NcType): number => TYPE_SIZE[t];
  for (const l of layouts) {
    const { v } = l;
    const recs = l.isRecord ? numrecs : 1;
    for (let r = 0; r < recs; r++) {
      let at = l.isRecord ? l.begin + r * recsize : l.begin;
      const base = r * l.count;
      for (let k = 0; k < l.count; k++, at += size(v.type)) writeValue(w.buf, v.type, at, v.data[base + k]!);
      // Padding after 1- and 2-byte data stays zero bytes; readers never interpret it.
    }
  }
  return w.buf;
}
