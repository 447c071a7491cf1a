#!/usr/bin/env bash
# Our lab server and jupyter_server 1.23 side by side on 127.0.0.1; all arguments go to bench.mjs.
#   bench/lab-vs-jupyter-server/run.sh            # full run (about 4 minutes on 2 cores)
#   bench/lab-vs-jupyter-server/run.sh --quick    # short smoke run (under a minute)
#   bench/lab-vs-jupyter-server/run.sh --help     # all options
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "need Node >= 20" >&2; exit 1; }
for arg in "$@"; do case "$arg" in --report|--report=*|-h|--help) exec node "$here/bench.mjs" "$@";; esac; done
/usr/bin/python3 -c 'import jupyter_server, ipykernel' 2>/dev/null || { echo "missing Debian python3-jupyter-server / python3-ipykernel" >&2; exit 1; }
[ -f /usr/share/jupyter/kernels/python3/kernel.json ] || { echo "missing the python3 kernelspec (/usr/share/jupyter/kernels/python3)" >&2; exit 1; }
for m in ws pino zeromq; do
  [ -d "$repo/node_modules/$m" ] || { echo "missing $repo/node_modules/$m: run npm ci at the repository root" >&2; exit 1; }
done
main="$repo/packages/lab/dist/main.js"
[ -f "$main" ] || { echo "missing $main: run npx tsc -b at the repository root" >&2; exit 1; }
# The lab server runs compiled, as in production: warn when a source is newer than its output.
stale=""
while IFS= read -r ts; do
  js="$repo/packages/lab/dist/${ts#"$repo/packages/lab/src/"}"; js="${js%.ts}.js"
  [ "$js" -nt "$ts" ] || stale+=" ${ts#"$repo/"}"
done < <(find "$repo/packages/lab/src" -name '*.ts' ! -name '*.test.ts' ! -name '*.d.ts')
[ -z "$stale" ] || echo "warning: older or missing in packages/lab/dist (run npx tsc -b):$stale" >&2
exec node "$here/bench.mjs" "$@"
