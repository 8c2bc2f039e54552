// CLI: node --import tsx scripts/crash-test/run.ts [cycles=20] [clients=64]
import { runCrashTest } from './crash-test.js';

const cycles = Number(process.argv[2] ?? 20);
const clients = Number(process.argv[3] ?? 64);
const result = await runCrashTest({ cycles, clients, minUptimeMs: 300, maxUptimeMs: 2500, log: (l) => console.log(l) });
console.log(
  [
    `acknowledged ${result.acknowledged}`,
    `found clickhouse ${result.foundClickHouse} parquet ${result.foundParquet}`,
    `lost clickhouse ${result.lostClickHouse} parquet ${result.lostParquet}`,
    `duplicated clickhouse ${result.duplicatedClickHouse} parquet ${result.duplicatedParquet}`,
    `failed requests (server killed under them, retried) ${result.requestsFailed}`,
    `longest gap between applier commits with a backlog, compaction on: ${result.longestCommitGapSeconds.toFixed(2)} s (goal < 2 s)`,
  ].join('\n'),
);
const ok = result.lostClickHouse + result.lostParquet + result.duplicatedClickHouse + result.duplicatedParquet === 0;
console.log(ok ? 'crash test: PASS' : 'crash test: FAIL');
process.exit(ok ? 0 : 1);
