#!/usr/bin/env bash
# Viewer render time: a generated ~20 MB notebook with images through the hub's notebook
# renderer vs Debian's `jupyter nbconvert --to html`, same file, same run. All arguments go
# to bench.mjs:
#   bench/viewer-render/run.sh                     # default: 20 MB, 5 repeats
#   bench/viewer-render/run.sh --mb 5 --repeats 2  # quick check
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "need Node >= 20" >&2; exit 1; }
/usr/bin/python3 -c 'import nbconvert, nbformat, matplotlib, numpy' 2>/dev/null \
  || { echo "missing Debian packages: python3-nbconvert python3-nbformat python3-matplotlib python3-numpy" >&2; exit 1; }
for m in tsx markdown-it katex; do
  [ -d "$repo/node_modules/$m" ] || { echo "missing $repo/node_modules/$m: run npm ci at the repository root" >&2; exit 1; }
done
cd "$repo"
exec node --conditions=source --import tsx "$here/bench.mjs" "$@"
