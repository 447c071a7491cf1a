#!/usr/bin/env bash
# Header scan throughput: our TypeScript NetCDF header reader vs `ncdump -h` (one process per
# file, sequential and xargs -P2) over the same files; plus a full catalog scan. All arguments
# go to bench.mjs:
#   bench/catalog-scan/run.sh                      # default: 40 copies of the demo tree (1000 files per format), 3 repeats
#   bench/catalog-scan/run.sh --copies 4 --repeats 1   # quick check
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "need Node >= 20" >&2; exit 1; }
for f in /usr/bin/ncdump /usr/bin/nccopy /usr/bin/xargs; do
  [ -x "$f" ] || { echo "missing $f (Debian: netcdf-bin findutils)" >&2; exit 1; }
done
for m in tsx h5wasm; do
  [ -d "$repo/node_modules/$m" ] || { echo "missing $repo/node_modules/$m: run npm ci at the repository root" >&2; exit 1; }
done
cd "$repo"
exec node --conditions=source --import tsx "$here/bench.mjs" "$@"
