#!/usr/bin/env bash
# Brings a fresh Debian machine to a built mediaferry: Node 24 (from the npm registry), pnpm 10,
# redis-server and prometheus (Debian packages), the workspace's packages, and the build.
# Sourced by scripts/demo.sh and scripts/test.sh; idempotent and quick when everything is there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export PATH="$HOME/.node24/bin:$PATH"
if ! node --version 2>/dev/null | grep -q '^v24\.'; then
  echo "bootstrap: installing Node 24 into ~/.node24"
  npm install -g --prefix "$HOME/.node24" node@24 >/dev/null
fi
if ! pnpm --version 2>/dev/null | grep -q '^10\.'; then
  echo "bootstrap: installing pnpm 10 into ~/.node24"
  npm install -g --prefix "$HOME/.node24" pnpm@10 >/dev/null
fi

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
if [ "${MEDIAFERRY_NEED_PROMETHEUS:-0}" = 1 ]; then command -v prometheus >/dev/null || missing+=(prometheus); fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bootstrap: installing ${missing[*]} from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The Debian packages start system services; ours start their own instances on free ports.
    pkill -x prometheus 2>/dev/null || true
  else
    echo "bootstrap: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

if [ ! -d node_modules/.pnpm ] || [ pnpm-lock.yaml -nt node_modules/.modules.yaml ]; then
  pnpm install --frozen-lockfile
fi
pnpm build
