/**
 * What the NetCDF header readers return: the format, dimensions, variables with their
 * attributes, global attributes and, when the file has a CF time coordinate, its first and
 * last instants. The same shape for classic (CDF-1/2/5) and NetCDF-4 (HDF5) files.
 */
import { AppError } from '@eucp/core';

/** The storage format of a file, as `ncdump -k` names it. */
export type NcFormat = 'classic' | '64-bit offset' | 'cdf5' | 'netCDF-4' | 'netCDF-4 classic model';

/** External data types, named as in CDL. */
export type NcTypeName =
  | 'byte' | 'char' | 'short' | 'int' | 'float' | 'double'
  | 'ubyte' | 'ushort' | 'uint' | 'int64' | 'uint64' | 'string' | 'other';

/** An attribute value: text, or numbers (64-bit integers beyond 2^53 lose precision). */
export type NcAttrValue = string | number[] | string[];

/** Attributes in file order (a plain object keeps insertion order for non-numeric keys). */
export type NcAttributes = Record<string, NcAttrValue>;

/** A dimension. `size` is the current length (records written, for an unlimited one). */
export interface NcDimension {
  readonly name: string;
  readonly size: number;
  readonly unlimited: boolean;
}

/** A variable: its dimensions by name, its shape, type and attributes. */
export interface NcVariable {
  readonly name: string;
  readonly dims: readonly string[];
  readonly shape: readonly number[];
  readonly type: NcTypeName;
  readonly attributes: NcAttributes;
}

/** First and last instants of the time coordinate, decoded with its `units` and `calendar`. */
export interface NcTimeRange {
  /** Name of the time variable. */
  readonly variable: string;
  readonly units: string;
  /** The calendar as written (lower-cased), `standard` when absent. */
  readonly calendar: string;
  /** Number of time steps. */
  readonly length: number;
  /** Raw first and last values (in `units`). */
  readonly first: number;
  readonly last: number;
  /** `YYYY-MM-DDTHH:MM:SSZ` in the file's calendar (a 360_day date may be Feb 30). */
  readonly firstIso: string;
  readonly lastIso: string;
}

/** A group's content (NetCDF-4 only has groups; classic files are one root group). */
export interface NcGroup {
  readonly name: string;
  readonly dimensions: readonly NcDimension[];
  readonly variables: readonly NcVariable[];
  readonly attributes: NcAttributes;
  readonly groups: readonly NcGroup[];
}

/** The header of a file, plus the decoded time range (null without a time coordinate or when undecodable). */
export interface NcHeader extends NcGroup {
  readonly format: NcFormat;
  readonly time: NcTimeRange | null;
  /** Why `time` is null although a time coordinate exists (e.g. unknown calendar), else absent. */
  readonly timeProblem?: string;
}

/** Why a file could not be read. */
export type NcInvalidReason = 'truncated' | 'not-netcdf' | 'malformed' | 'unsupported' | 'unreadable';

/**
 * The typed error of the readers: `AppError` with code `DATA_FILE_INVALID` and fields
 * `{ path, reason }`, `reason` one of {@link NcInvalidReason}.
 */
export function ncInvalid(path: string, reason: NcInvalidReason, detail: string, cause?: unknown): AppError {
  return new AppError('DATA_FILE_INVALID', `${path}: ${detail}`, { path, reason }, cause === undefined ? undefined : { cause });
}

/** The reason of a `DATA_FILE_INVALID` error, or undefined for any other error. */
export function ncInvalidReason(err: unknown): NcInvalidReason | undefined {
  return err instanceof AppError && err.code === 'DATA_FILE_INVALID' ? (err.fields['reason'] as NcInvalidReason) : undefined;
}

/**
 * An open file whose header has been read: read small variables' values (coordinates, bounds)
 * without loading the rest. Close it when done.
 */
export interface NcFileReader {
  readonly path: string;
  readonly header: NcHeader;
  /**
   * Values of a variable of the root group as doubles, in C order; `index` limits the read to
   * a set of positions along the first dimension (e.g. `[0, n - 1]` for the first and last time step).
   * @throws AppError `DATA_FILE_INVALID` if the bytes are missing (truncated) or the type is not numeric;
   *   `NOT_FOUND` for an unknown variable.
   */
  readValues(name: string, index?: readonly number[]): Promise<Float64Array>;
  close(): Promise<void>;
}
