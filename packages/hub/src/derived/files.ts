/**
 * What a published folder holds: every regular file with its size and SHA-256, and for the
 * NetCDF files the data variables (units, names), time range and horizontal extent read
 * with the catalog's header reader. The folder is walked with lstat, never following a
 * symbolic link: a link inside it is refused (publish real files).
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '@eucp/core';
import { ncInvalidReason, openNetcdf, type NcHeader, type NcVariable } from '../catalog/netcdf/index.js';
import { readFileFacts, sha256File } from '../catalog/scanner-facts.js';

/** One data variable of a derived data set. */
export interface DerivedVariable {
  name: string;
  units?: string;
  long_name?: string;
  standard_name?: string;
}

/** One file of a version, as recorded (path relative to the published folder). */
export interface DerivedFile {
  rel: string;
  size: number;
  sha256: string;
  /** Null for files that are not NetCDF. */
  netcdf: { format: string; variables: string[]; time: { start: string; stop: string; calendar: string } | null } | null;
}

/** What the catalog shows of a version: union over its NetCDF files. */
export interface DerivedFacts {
  variables: DerivedVariable[];
  time: { start: string; stop: string } | null;
  extent: { west: number; east: number; south: number; north: number } | null;
  size: number;
  netcdfFiles: number;
}

/** Most files (and folders) a published folder may hold. */
export const MAX_DERIVED_FILES = 10_000;
const MAX_DEPTH = 16;
const NETCDF = /\.(nc|nc4|netcdf)$/i;

/** Data variables: not coordinates (1-D, named like their dimension), not bounds, not named by `coordinates`. */
export function dataVariables(h: NcHeader): NcVariable[] {
  const aux = new Set<string>();
  for (const v of h.variables) {
    for (const k of ['bounds', 'coordinates', 'cell_measures', 'grid_mapping']) {
      const a = v.attributes[k];
      if (typeof a === 'string') for (const w of a.split(/[\s:]+/)) aux.add(w);
    }
  }
  return h.variables.filter((v) => v.dims.length > 0 && !(v.dims.length === 1 && v.dims[0] === v.name) && !aux.has(v.name));
}

async function walk(root: string): Promise<Array<{ rel: string; abs: string; size: number }>> {
  const out: Array<{ rel: string; abs: string; size: number }> = [];
  let seen = 0;
  const visit = async (dir: string, rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) throw new AppError('DERIVED_FILES_INVALID', `${rel} is nested more than ${MAX_DEPTH} folders deep.`);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (++seen > MAX_DERIVED_FILES) throw new AppError('DERIVED_FILES_INVALID', `The folder holds more than ${MAX_DERIVED_FILES} files and folders.`);
      const r = rel ? `${rel}/${e.name}` : e.name;
      const abs = path.join(dir, e.name);
      const st = await lstat(abs);
      if (st.isSymbolicLink()) throw new AppError('DERIVED_FILES_INVALID', `${r} is a symbolic link; publish real files only.`, { file: r });
      if (st.isDirectory()) await visit(abs, r, depth + 1);
      else if (st.isFile()) out.push({ rel: r, abs, size: st.size });
    }
  };
  await visit(root, '', 0);
  return out;
}

/**
 * Reads a validated folder (absolute host path, its own path already checked free of
 * symbolic links). Throws `DERIVED_FILES_INVALID` naming the file: a symbolic link inside,
 * a malformed NetCDF file, no NetCDF file at all, too many files.
 */
export async function readDerivedFolder(folder: string): Promise<{ files: DerivedFile[]; facts: DerivedFacts }> {
  const found = await walk(folder);
  const files: DerivedFile[] = [];
  const vars = new Map<string, DerivedVariable>();
  let start: string | null = null;
  let stop: string | null = null;
  let extent: DerivedFacts['extent'] = null;
  let netcdfFiles = 0;
  for (const f of found) {
    if (!NETCDF.test(f.rel)) {
      files.push({ rel: f.rel, size: f.size, sha256: await sha256File(f.abs), netcdf: null });
      continue;
    }
    let header: NcHeader;
    let data: NcVariable[];
    try {
      const r = await openNetcdf(f.abs);
      try {
        header = r.header;
      } finally {
        await r.close();
      }
      data = dataVariables(header);
      const facts = await readFileFacts(f.abs, f.size, data[0]?.name ?? '', true);
      netcdfFiles++;
      for (const v of data) {
        if (vars.has(v.name)) continue;
        const dv: DerivedVariable = { name: v.name };
        for (const k of ['units', 'long_name', 'standard_name'] as const) {
          const a = v.attributes[k];
          if (typeof a === 'string') dv[k] = a;
        }
        vars.set(v.name, dv);
      }
      const t = header.time;
      if (t) {
        if (start === null || t.firstIso < start) start = t.firstIso;
        if (stop === null || t.lastIso > stop) stop = t.lastIso;
      }
      if (facts.extent) {
        const e = facts.extent;
        extent = extent
          ? { west: Math.min(extent.west, e.west), east: Math.max(extent.east, e.east), south: Math.min(extent.south, e.south), north: Math.max(extent.north, e.north) }
          : { ...e };
      }
      files.push({
        rel: f.rel, size: f.size, sha256: facts.sha256!,
        netcdf: { format: header.format, variables: data.map((v) => v.name), time: t ? { start: t.firstIso, stop: t.lastIso, calendar: t.calendar } : null },
      });
    } catch (err) {
      const reason = ncInvalidReason(err);
      if (reason === undefined) throw err;
      throw new AppError('DERIVED_FILES_INVALID', `${f.rel} is not a readable NetCDF file (${reason}).`, { file: f.rel, reason });
    }
  }
  if (netcdfFiles === 0) throw new AppError('DERIVED_FILES_INVALID', 'The folder holds no NetCDF file (.nc).');
  return {
    files,
    facts: {
      variables: [...vars.values()], time: start && stop ? { start, stop } : null, extent,
      size: files.reduce((s, f) => s + f.size, 0), netcdfFiles,
    },
  };
}
