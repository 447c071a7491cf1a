#!/usr/bin/env bash
# Our hub and JupyterHub 3.0 side by side on 127.0.0.1; all arguments go to bench.mjs.
#   bench/hub-vs-jupyterhub/run.sh                  # full run (about 5 minutes on 2 cores)
#   bench/hub-vs-jupyterhub/run.sh --smoke          # quick check that both halves work
#   bench/hub-vs-jupyterhub/run.sh --hubs jupyterhub --smoke
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "run as root (our hub creates Unix accounts and cgroups)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "need Node >= 20" >&2; exit 1; }
for f in /usr/bin/jupyterhub /usr/bin/configurable-http-proxy /usr/bin/python3 /usr/bin/jupyterhub-singleuser /usr/bin/bwrap /usr/bin/wrk; do
  [ -x "$f" ] || { echo "missing $f (Debian: jupyterhub jupyter-notebook bubblewrap wrk)" >&2; exit 1; }
done
for m in ws better-sqlite3; do
  [ -d "$repo/node_modules/$m" ] || { echo "missing $repo/node_modules/$m: run npm ci at the repository root" >&2; exit 1; }
done
exec node "$here/bench.mjs" "$@"
