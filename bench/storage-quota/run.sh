#!/usr/bin/env bash
# Cost of filesystem-enforced quotas: 10,000 small files and 1 GiB sequential writes into a
# quota-limited btrfs subvolume vs an unlimited one (same loop-mounted pool) vs a host
# directory, in one run; then the hub's usage query at 1,000,000 files vs `du -s`.
#   sudo bench/storage-quota/run.sh                 # full run (a few minutes; 1M files take the longest)
#   sudo bench/storage-quota/run.sh --smoke         # 500 files, 16 MiB, 20,000 files counted: a quick check
#   sudo bench/storage-quota/run.sh --files 200000 --reps 7 --host-dir /var/tmp --skip-count
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "run as root (loop device, mount)" >&2; exit 1; }
command -v mkfs.btrfs >/dev/null || { echo "missing btrfs-progs (Debian: apt-get install btrfs-progs)" >&2; exit 1; }
[ -d "$repo/node_modules/tsx" ] || { echo "missing $repo/node_modules/tsx: run npm ci at the repository root" >&2; exit 1; }
cd "$repo"
exec node --conditions=source --import tsx "$here/bench.ts" "$@"
