export { LocalSandboxSpawner, type LocalSandboxSpawnerOptions } from './local-sandbox-spawner.js';
export { type CgroupLimits, type CgroupVersion, cpuQuotaUs, formatBytes, limitWrites, oomMessage } from './cgroup-limits.js';
export { type CgroupDriver, type ServerCgroup, detectCgroupDriver } from './cgroups.js';
export { type LocalSandboxState, parseLocalSandboxState } from './sandbox-state.js';
export { unixAccountName } from './unix-accounts.js';
