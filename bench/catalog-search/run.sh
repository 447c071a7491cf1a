#!/usr/bin/env bash
# Facet search with counts at 1,000,000 CMIP6-like dataset records: our index (the ESGF
# search route's work, in-process) vs pandas over the same intake-esm CSV, in one run.
#   bench/catalog-search/run.sh                  # full run (about 5 minutes on 2 cores, 4 GiB of RAM)
#   bench/catalog-search/run.sh --smoke          # 20,000 records, 2 reps: a quick check that both halves work
#   bench/catalog-search/run.sh --records 200000 --reps 10 --queries 50 --seed 20240501 --keep
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "need Node >= 20" >&2; exit 1; }
/usr/bin/python3 -c 'import pandas' 2>/dev/null || { echo "missing Debian python3-pandas" >&2; exit 1; }
[ -d "$repo/node_modules/tsx" ] || { echo "missing $repo/node_modules/tsx: run npm ci at the repository root" >&2; exit 1; }
cd "$repo"
# tsx only strips types (esbuild): the index runs as the same ES2022 JavaScript tsc emits.
exec node --expose-gc --max-old-space-size=8192 --conditions=source --import tsx "$here/bench.ts" "$@"
