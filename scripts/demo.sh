#!/usr/bin/env bash
# The run command: bootstraps the machine, starts the whole system on the built-in emulator
# (Redis, emulator, API, two workers, metrics) and runs sample uploads. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
export PATH="$HOME/.node24/bin:$PATH"
exec node scripts/demo.ts "$@"
