#!/usr/bin/env bash
# Runs every test: unit, API, integration (real sandboxes, real jupyterhub-singleuser)
# and end-to-end (Debian's chromium). Pass files to run only those.
set -euo pipefail
cd "$(dirname "$0")/.."
if (($#)); then files=("$@"); else
  # The whole suite also typechecks the tests and the web UI (the set-up built the rest).
  npx tsc -p tsconfig.tests.json
  npx tsc -p packages/web
  mapfile -t files < <(find packages e2e -name '*.test.ts' -not -path '*/node_modules/*' -not -path '*/dist/*' | sort)
fi
((${#files[@]})) || { echo "no test files found" >&2; exit 1; }
exec node --conditions=source --import tsx --test --test-reporter=spec "${files[@]}"
