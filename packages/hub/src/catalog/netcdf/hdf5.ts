/**
 * NetCDF-4 (HDF5) header reader over h5wasm.
 *
 * Choice of file access: h5wasm's Node build (`h5wasm/node`) is compiled with Emscripten's
 * NODERAWFS, so `new File('/abs/path')` makes HDF5 seek and read the real file through Node's
 * `fs`: only the superblock, object headers, attribute and B-tree blocks it needs are read —
 * no copy into a virtual file system, no whole-file buffer, no worker. The wasm module (4 MB)
 * is loaded on the first NetCDF-4 file only.
 *
 * The netCDF-4 data model is rebuilt from the HDF5 conventions netCDF-C uses: dimension
 * scales (`CLASS=DIMENSION_SCALE`; `NAME="This is a netCDF dimension but not a netCDF
 * variable…"` for dimensions without a coordinate variable), dimension ids
 * (`_Netcdf4Dimid`, `_Netcdf4Coordinates`) or else `DIMENSION_LIST` references, and the
 * classic-model marker `_nc3_strict`. Bookkeeping attributes are hidden, as `ncdump -h` does.
 */
import { AppError } from '@eucp/core';
import { ncInvalid, type NcAttributes, type NcAttrValue, type NcDimension, type NcFormat, type NcGroup, type NcTypeName, type NcVariable } from './types.js';

type H5 = typeof import('h5wasm/node');
type H5File = InstanceType<H5['File']>;
type H5Group = InstanceType<H5['Group']>;
type H5Dataset = InstanceType<H5['Dataset']>;

let h5Promise: Promise<H5> | undefined;

/** Loads h5wasm once and makes HDF5 errors throw (instead of printing to stderr). */
async function h5(): Promise<H5> {
  h5Promise ??= (async () => {
    const mod = await import('h5wasm/node');
    const m = await mod.ready;
    m.activate_throwing_error_handler();
    return mod;
  })();
  return h5Promise;
}

const HIDDEN_ATTRS = new Set([
  'CLASS', 'NAME', 'REFERENCE_LIST', 'DIMENSION_LIST', '_Netcdf4Dimid', '_Netcdf4Coordinates',
  '_nc3_strict', '_NCProperties', '_SuperblockVersion', '_IsNetcdf4', '_IsNetcdf4Attr',
]);
const DIM_ONLY = 'This is a netCDF dimension but not a netCDF variable';

/** HDF5 signature; the superblock may follow a user block at 0, 512, 1024, 2048… */
export const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Offset of the HDF5 superblock within `prefix`, or -1. */
export function hdf5SuperblockOffset(prefix: Buffer): number {
  for (let at = 0; at + 8 <= prefix.length; at = at === 0 ? 512 : at * 2) {
    if (prefix.subarray(at, at + 8).equals(HDF5_SIGNATURE)) return at;
  }
  return -1;
}

/**
 * Checks the superblock's end-of-file address against the file size: HDF5 records how long
 * the file must be, so a partial copy is detected before HDF5 trips over missing blocks.
 */
export function checkHdf5Length(prefix: Buffer, at: number, fileSize: number, path: string): void {
  const version = prefix[at + 8];
  if (version === undefined) throw ncInvalid(path, 'truncated', 'the HDF5 superblock is cut off');
  const sizeOffsets = version <= 1 ? prefix[at + 13] : prefix[at + 9];
  if (sizeOffsets !== 2 && sizeOffsets !== 4 && sizeOffsets !== 8) throw ncInvalid(path, 'malformed', `HDF5 superblock v${version}: offset size ${sizeOffsets}`);
  const addrStart = version === 0 ? at + 24 : version === 1 ? at + 28 : at + 12;
  const eofAt = addrStart + 2 * sizeOffsets;
  if (eofAt + sizeOffsets > prefix.length) {
    if (prefix.length >= fileSize) throw ncInvalid(path, 'truncated', 'the HDF5 superblock is cut off');
    return; // the prefix is shorter than the superblock only for absurd user blocks; let HDF5 decide
  }
  const read = (p: number): bigint => (sizeOffsets === 8 ? prefix.readBigUInt64LE(p) : BigInt(sizeOffsets === 4 ? prefix.readUInt32LE(p) : prefix.readUInt16LE(p)));
  const undefinedAddr = (1n << BigInt(8 * sizeOffsets)) - 1n;
  const base = read(addrStart);
  const eof = read(eofAt);
  if (eof === undefinedAddr || base === undefinedAddr) return;
  if (base + eof > BigInt(fileSize)) throw ncInvalid(path, 'truncated', `HDF5 says the file is ${base + eof} bytes long, it has ${fileSize}`);
}

function attrValue(v: unknown): NcAttrValue | undefined {
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (typeof v === 'number') return [v];
  if (typeof v === 'bigint') return [Number(v)];
  if (typeof v === 'boolean') return [v ? 1 : 0];
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return v.length === 1 ? (v[0] as string) : (v as string[]);
    if (v.every((x) => typeof x === 'number' || typeof x === 'bigint')) return v.map((x) => Number(x));
  }
  return undefined; // compound, enum, reference…: not part of the catalog's view
}

function typeName(m: H5Dataset['metadata']): NcTypeName {
  if (m.type === 0) {
    const names: Record<number, [NcTypeName, NcTypeName]> = { 1: ['byte', 'ubyte'], 2: ['short', 'ushort'], 4: ['int', 'uint'], 8: ['int64', 'uint64'] };
    const pair = names[m.size];
    return pair ? pair[m.signed ? 0 : 1] : 'other';
  }
  if (m.type === 1) return m.size === 4 ? 'float' : m.size === 8 ? 'double' : 'other';
  if (m.type === 3) return m.vlen ? 'string' : 'char';
  return 'other';
}

const isUnlimited = (max: number | undefined): boolean => max === undefined || max === null || max > Number.MAX_SAFE_INTEGER;
const basename = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
const firstNumber = (v: NcAttrValue | undefined): number | undefined => (Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined);

/**
 * One HDF5 object as read in a single pass: attribute names are listed once, values read once
 * (bookkeeping attributes only when needed; REFERENCE_LIST, a compound, never). h5wasm's
 * `attrs` getter lists names and reads each attribute's metadata twice per access, which
 * made attributes 90 % of the time of a NetCDF-4 header.
 */
interface H5Object {
  path: string;
  dataset: H5Dataset | null;
  group: H5Group | null;
  names: string[];
  attrs: NcAttributes;
  cls?: string;
  nameAttr?: string;
  dimId?: number;
  coords?: NcAttrValue;
}

function readObject(lib: H5, obj: H5Group | H5Dataset): H5Object {
  const names = lib.Module.get_attribute_names(obj.file_id, obj.path) as string[];
  const o: H5Object = { path: obj.path, dataset: obj instanceof lib.Dataset ? obj : null, group: obj instanceof lib.Group ? obj : null, names, attrs: {} };
  for (const name of names) {
    if (name === 'REFERENCE_LIST' || name === 'DIMENSION_LIST') continue;
    const v = attrValue(obj.get_attribute(name, false));
    if (name === 'CLASS') o.cls = typeof v === 'string' ? v : undefined;
    else if (name === 'NAME') o.nameAttr = typeof v === 'string' ? v : undefined;
    else if (name === '_Netcdf4Dimid') o.dimId = firstNumber(v);
    else if (name === '_Netcdf4Coordinates') o.coords = v;
    else if (!HIDDEN_ATTRS.has(name) && v !== undefined) o.attrs[name] = v;
  }
  return o;
}

interface Walked {
  dims: Map<number, NcDimension>;
  dimIdsByPath: Map<string, number>;
  /** Dimensions declared in each group, by group path. */
  groupDims: Map<string, { id: number; dim: NcDimension }[]>;
}

interface GroupTree {
  self: H5Object;
  members: H5Object[];
  children: GroupTree[];
}

/** Reads every object of a group (recursively) once, and registers the dimension scales. */
function readTree(lib: H5, g: H5Group, acc: Walked): GroupTree {
  const tree: GroupTree = { self: readObject(lib, g), members: [], children: [] };
  const mine: { id: number; dim: NcDimension }[] = [];
  for (const key of g.keys()) {
    const obj = g.get(key);
    if (obj instanceof lib.Group) tree.children.push(readTree(lib, obj, acc));
    if (!(obj instanceof lib.Dataset)) continue;
    const o = readObject(lib, obj);
    tree.members.push(o);
    if (!o.cls?.startsWith('DIMENSION_SCALE')) continue;
    const m = obj.metadata;
    const dim: NcDimension = { name: key, size: m.shape?.[0] ?? 0, unlimited: isUnlimited(m.maxshape?.[0]) };
    const id = o.dimId ?? 1_000_000 + acc.dims.size;
    acc.dims.set(id, dim);
    acc.dimIdsByPath.set(obj.path, id);
    mine.push({ id, dim });
  }
  // ncdump lists dimensions by id (creation order), not by HDF5 link order.
  acc.groupDims.set(g.path, mine.sort((a, b) => a.id - b.id));
  return tree;
}

function dimsOf(lib: H5, file: H5File, o: H5Object, rank: number, acc: Walked): string[] {
  const coords = o.coords;
  if (Array.isArray(coords) && coords.length === rank && coords.every((id) => typeof id === 'number' && acc.dims.has(id))) {
    return (coords as number[]).map((id) => acc.dims.get(id)!.name);
  }
  if (o.names.includes('DIMENSION_LIST')) {
    const list = o.dataset!.get_attribute('DIMENSION_LIST', false);
    if (Array.isArray(list) && list.length === rank) {
      const names = list.map((refs) => {
        const ref = Array.isArray(refs) ? refs[0] : refs;
        const target = ref instanceof lib.Reference ? file.dereference(ref) : null;
        return target && 'path' in target && typeof target.path === 'string' ? basename(target.path) : undefined;
      });
      if (names.every((n) => n !== undefined)) return names as string[];
    }
  }
  if (rank === 1 && acc.dimIdsByPath.has(o.path)) return [basename(o.path)];
  return Array.from({ length: rank }, (_, k) => `phony_dim_${k}`);
}

function buildGroup(lib: H5, file: H5File, t: GroupTree, acc: Walked): NcGroup {
  const variables: NcVariable[] = [];
  for (const o of t.members) {
    if (o.nameAttr?.startsWith(DIM_ONLY)) continue;
    const m = o.dataset!.metadata;
    const shape = m.shape ?? [];
    variables.push({ name: basename(o.path), dims: dimsOf(lib, file, o, shape.length, acc), shape, type: typeName(m), attributes: o.attrs });
  }
  // The current length of an unlimited dimension is the longest extent of the variables using it.
  const dims = (acc.groupDims.get(t.self.path) ?? []).map(({ dim: d }) => {
    if (!d.unlimited) return d;
    let size = d.size;
    for (const v of variables) v.dims.forEach((n, k) => n === d.name && (size = Math.max(size, v.shape[k] ?? 0)));
    return { ...d, size };
  });
  const groups = t.children.map((c) => buildGroup(lib, file, c, acc));
  return { name: t.self.path === '/' ? '/' : basename(t.self.path), dimensions: dims, variables, attributes: t.self.attrs, groups };
}

/** An open NetCDF-4 file. */
export interface Hdf5Handle {
  format: NcFormat;
  root: NcGroup;
  readValues(name: string, index?: readonly number[]): Float64Array;
  close(): void;
}

/**
 * Opens a NetCDF-4 file read-only and reads its header (root group and subgroups).
 * @throws AppError `DATA_FILE_INVALID` (`malformed` when HDF5 cannot parse it).
 */
export async function openHdf5(path: string): Promise<Hdf5Handle> {
  const lib = await h5();
  let file: H5File;
  try {
    file = new lib.File(path, 'r');
  } catch (err) {
    throw ncInvalid(path, 'malformed', `HDF5 cannot open it: ${firstLine(err)}`, err);
  }
  if (file.file_id < 0n) throw ncInvalid(path, 'unreadable', 'HDF5 cannot open it');
  try {
    const acc: Walked = { dims: new Map(), dimIdsByPath: new Map(), groupDims: new Map() };
    const tree = readTree(lib, file, acc);
    const root = buildGroup(lib, file, tree, acc);
    const classicModel = tree.self.names.includes('_nc3_strict');
    return {
      format: classicModel ? 'netCDF-4 classic model' : 'netCDF-4',
      root,
      readValues(name, index) {
        const ds = file.get(name);
        if (!(ds instanceof lib.Dataset)) throw new AppError('NOT_FOUND', `No variable ${name} in ${path}.`);
        try {
          if (index === undefined) return toFloat64(ds.value, path, name);
          const parts = index.map((i) => toFloat64(ds.slice([[i, i + 1]]), path, name));
          const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
          let at = 0;
          for (const p of parts) {
            out.set(p, at);
            at += p.length;
          }
          return out;
        } catch (err) {
          if (err instanceof AppError) throw err;
          throw ncInvalid(path, 'malformed', `cannot read ${name}: ${firstLine(err)}`, err);
        }
      },
      close() {
        file.close();
      },
    };
  } catch (err) {
    file.close();
    if (err instanceof AppError) throw err;
    throw ncInvalid(path, 'malformed', `HDF5 error: ${firstLine(err)}`, err);
  }
}

function toFloat64(v: unknown, path: string, name: string): Float64Array {
  if (typeof v === 'number' || typeof v === 'bigint') return Float64Array.of(Number(v));
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Float64Array.from(v as unknown as ArrayLike<number | bigint>, (x) => Number(x));
  throw ncInvalid(path, 'unsupported', `variable ${name} is not numeric`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // HDF5's error stack: keep the innermost "minor" reason, the most telling line.
  const minors = [...text.matchAll(/minor: (.+)/g)].map((m) => m[1]!.trim());
  return minors.length ? minors[minors.length - 1]! : text.split('\n')[0]!.slice(0, 200);
}
