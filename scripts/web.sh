#!/usr/bin/env bash
# Installs the web page's npm packages (from package-lock.json, only when it changed) and builds
# the page into web/dist, which fun-notes-server serves.
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "web: node and npm not found; run scripts/setup.sh, which installs nodejs" >&2
  exit 1
fi

# npm ci wipes node_modules first: run it only when the lock file is newer than the install.
stamp=node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

npm run --silent build
