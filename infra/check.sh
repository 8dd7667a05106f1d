#!/usr/bin/env bash
# Static checks of the observability config: Prometheus config, alert rules and their unit tests,
# and the Grafana dashboard's PromQL. Needs `promtool` (Debian: apt-get install prometheus) and
# Node >= 22.6 (runs infra/grafana/extract-queries.ts with type stripping).
# The YAML/JSON structure of compose, k8s and Grafana files is tested by `pnpm -F @mediaferry/metrics test`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v promtool >/dev/null 2>&1; then
  echo "infra/check.sh: promtool not found (apt-get install -y prometheus)" >&2
  exit 1
fi

promtool check config prometheus/prometheus.yml
promtool check rules prometheus/rules/*.yml
promtool test rules prometheus/tests/*.yml

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
node --no-warnings grafana/extract-queries.ts --as-rules >"$tmp/dashboard-queries.rules.yml"
promtool check rules "$tmp/dashboard-queries.rules.yml"

echo "infra/check.sh: all checks passed"
