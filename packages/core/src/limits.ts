/** Memory and CPU limits of a server; null means unlimited. */
export interface Limits {
  memoryLimitBytes: number | null;
  cpuLimitCores: number | null;
}

const larger = (a: number | null, b: number | null): number | null => (a === null || b === null ? null : Math.max(a, b));

/**
 * The limits that apply to a user: their own setting if any, else the most generous of
 * their groups' settings, else the defaults. Each key is resolved on its own, so a user
 * entry that sets only memory keeps the group's CPU limit. A key absent from an entry
 * (undefined) does not count; an explicit null means "unlimited".
 */
export function resolveLimits(
  defaults: Limits,
  groupLimits: ReadonlyArray<Partial<Limits>>,
  userLimits: Partial<Limits> | undefined,
): Limits {
  const pick = (key: keyof Limits): number | null => {
    if (userLimits && userLimits[key] !== undefined) return userLimits[key]!;
    const fromGroups = groupLimits.filter((g) => g[key] !== undefined).map((g) => g[key]!);
    if (fromGroups.length) return fromGroups.slice(1).reduce<number | null>((a, b) => larger(a, b), fromGroups[0]!);
    return defaults[key];
  };
  return { memoryLimitBytes: pick('memoryLimitBytes'), cpuLimitCores: pick('cpuLimitCores') };
}

/** `2 GiB`, `512 MiB`, `unlimited`. */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'unlimited';
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
