#!/usr/bin/env bash
# The test command: bootstraps the machine, then lint, typecheck and every test (unit, integration, e2e).
# Tests start their own redis-server, emulator and HTTP servers on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
export MEDIAFERRY_NEED_PROMETHEUS=1
source scripts/bootstrap.sh
export PATH="$HOME/.node24/bin:$PATH"
pnpm lint
pnpm typecheck
bash infra/check.sh
report_dir=$(mktemp -d)
export MEDIAFERRY_TEST_REPORT_DIR="$report_dir"
status=0
pnpm test || status=$?
node scripts/test-summary.mjs "$report_dir" || status=1
rm -rf "$report_dir"
exit $status
