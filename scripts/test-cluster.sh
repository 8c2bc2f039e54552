#!/usr/bin/env bash
# npm run test:cluster: cluster mode end to end, on ZooKeeper and 2 shards x 3
# replicas of clickhouse-server started on loopback by the tests themselves
# (test/helpers/clickhouse-cluster.ts): failover under load, kill -9 cycles,
# exactly-once inserts, the query corpus against one server. `npm test` runs
# them too (last); this runs only them. Files run one at a time: each starts
# its own cluster, and seven servers are what a 2-core machine can carry.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output
shopt -s nullglob
files=(test/cluster/*.test.ts)
echo "== cluster tests (${#files[@]} files)"
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 --test-timeout=900000 "${files[@]}"
