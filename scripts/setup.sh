#!/usr/bin/env bash
# Idempotent set-up for `npm start` and `npm test`: installs the Debian packages and npm
# packages that are missing, builds what changed, and generates the demo data if absent.
# Fast (a few seconds) when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages (the science stack runs inside the sandboxes; see README).
DEB_PACKAGES=(
  bubblewrap passwd procps btrfs-progs bindfs fuse3
  jupyterhub jupyter-notebook python3-jupyter-server python3-ipykernel python3-nbformat
  python3-xarray python3-netcdf4 python3-dask python3-distributed python3-matplotlib python3-cartopy
  python3-pandas netcdf-bin cdo nco r-cran-irkernel
  chromium node-configurable-http-proxy wrk wget
)
missing=()
for p in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root (or: sudo apt-get install --no-install-recommends ${missing[*]})"
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

# 2. npm packages, pinned by package-lock.json.
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f node_modules/.eucp-lock-sha ] || [ "$(cat node_modules/.eucp-lock-sha)" != "$lock_sum" ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$lock_sum" > node_modules/.eucp-lock-sha
fi

# 3. Build: TypeScript (incremental), the web UI and the JupyterLab UI (only when their sources changed).
npx tsc -b
web_sum=$(find packages/web/src packages/web/public packages/web/index.html packages/web/vite.config.ts -type f 2>/dev/null | sort | xargs cat 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f packages/web/dist/.eucp-src-sha ] || [ "$(cat packages/web/dist/.eucp-src-sha)" != "$web_sum" ]; then
  log "building the web UI"
  npm run build -w packages/web --silent >&2
  echo "$web_sum" > packages/web/dist/.eucp-src-sha
fi
# The JupyterLab UI of the lab server (webpack, about a minute), when its sources or the lock changed.
lab_ui_sum=$(find packages/lab-ui/src packages/lab-ui/package.json packages/lab-ui/*.mjs package-lock.json -type f 2>/dev/null | sort | xargs cat 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -f packages/lab-ui/dist/.eucp-src-sha ] || [ "$(cat packages/lab-ui/dist/.eucp-src-sha)" != "$lab_ui_sum" ]; then
  log "building the JupyterLab UI (packages/lab-ui)"
  NODE_OPTIONS=--max-old-space-size=4096 npm run build -w packages/lab-ui --silent >&2
  echo "$lab_ui_sum" > packages/lab-ui/dist/.eucp-src-sha
fi

# 4. Demo climate data (EUCP-SYN) in the state directory, unless a data dir is configured.
state_dir=${EUCP_STATE_DIR:-.eucp}
if [ -z "${EUCP_DATA_DIR:-}" ] && [ ! -f "$state_dir/data/expected.json" ]; then
  log "generating the demo climate data in $state_dir/data"
  node packages/cli/dist/main.js data generate --out "$state_dir/data" >&2
fi
