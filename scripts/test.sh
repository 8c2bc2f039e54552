#!/usr/bin/env bash
# npm test: typecheck, lint, unit tests, then integration tests against the
# real process and real engines. Output of the node test runner ends with its
# pass/fail summary.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output

echo "== typecheck"; npx tsc --noEmit -p tsconfig.json
echo "== lint"; npx eslint --max-warnings=0 src test scripts eslint

shopt -s nullglob
# Cluster tests last: each starts ZooKeeper and 2 shards x 3 replicas on loopback (test/helpers/clickhouse-cluster.ts).
files=(test/unit/*.test.ts test/integration/*.test.ts test/cluster/*.test.ts)
echo "== tests (${#files[@]} files)"
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 "${files[@]}"
