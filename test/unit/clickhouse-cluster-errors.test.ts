// The messages below are verbatim answers of ClickHouse 18.16 on the cluster
// harness (2 shards x 3 replicas); the integration probe classifies live ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../src/platform/errors.js';
import { classifyClusterFailure, clickhouseErrorCodes, isNodeUnreachable, StrayPartsRemainError } from '../../src/storage/clickhouse/cluster-errors.js';
import { toEngineError } from '../../src/storage/clickhouse/engine-errors.js';

// As ServerEngine hands them on: a storage_failure whose cause is the driver's error.
const wrap = (message: string, extra: Record<string, unknown> = {}) => toEngineError(Object.assign(new Error(message), extra), 'exec');

const QUORUM_TIMEOUT =
  'Code: 319, e.displayText() = DB::Exception: Received from 127.0.0.1:32795. DB::Exception: Unknown status, client must retry. ' +
  'Reason: Code: 159, e.displayText() = DB::Exception: Timeout while waiting for quorum, e.what() = DB::Exception., e.what() = DB::Exception';
const PREVIOUS_QUORUM =
  'Code: 286, e.displayText() = DB::Exception: Received from 127.0.0.1:32795. DB::Exception: Quorum for previous write has not been satisfied yet. ' +
  'Status: version: 1\npart_name: 20231114_4_4_0\nrequired_number_of_replicas: 2\nactual_number_of_replicas: 1\nreplicas:\ns2r1\n., e.what() = DB::Exception';
const TOO_FEW =
  'Code: 285, e.displayText() = DB::Exception: Received from 127.0.0.1:32795. DB::Exception: Number of alive replicas (1) is less than requested quorum (2).., e.what() = DB::Exception';
const STALE =
  "Code: 289, e.displayText() = DB::Exception: Replica doesn't have part 20231114_2_2_0 which was successfully written to quorum of other replicas. " +
  "Send query to another replica or disable 'select_sequential_consistency' setting., e.what() = DB::Exception";
const READ_ONLY = 'Code: 242, e.displayText() = DB::Exception: Table is in readonly mode, e.what() = DB::Exception';
const SHARD_EOF =
  'Code: 32, e.displayText() = DB::Exception: Attempt to read after eof: while receiving packet from 127.0.0.1:42613: Insertion status:\n' +
  'Wrote 1 blocks and 64 rows on shard 0 replica 0, 127.0.0.1:34059 (average 5 ms per block)\n' +
  'Wrote 1 blocks and 45 rows on shard 1 replica 0, 127.0.0.1:46869 (average 0 ms per block)\n, e.what() = DB::Exception';
const UNKNOWN_COLUMN = 'Code: 47, e.displayText() = DB::Exception: Unknown identifier: amount, e.what() = DB::Exception';

test('every code in a wrapped 18.16 message is found, outer first', () => {
  assert.deepEqual(clickhouseErrorCodes(wrap(QUORUM_TIMEOUT)), [319, 159]);
  assert.deepEqual(clickhouseErrorCodes(new Error('no code here')), []);
  // @clickhouse/client's ClickHouseError carries its code as a string.
  assert.deepEqual(clickhouseErrorCodes(Object.assign(new Error('x'), { code: '252' })), [252]);
});

test('quorum failures, read-only tables, stale replicas and bad SQL fall into their classes', () => {
  assert.equal(classifyClusterFailure(wrap(QUORUM_TIMEOUT)), 'quorum');
  assert.equal(classifyClusterFailure(wrap(PREVIOUS_QUORUM)), 'quorum');
  assert.equal(classifyClusterFailure(wrap(TOO_FEW)), 'quorum');
  assert.equal(classifyClusterFailure(wrap(READ_ONLY)), 'read-only');
  assert.equal(classifyClusterFailure(wrap('Code: 164, e.displayText() = DB::Exception: Received from 127.0.0.1:45361. DB::Exception: Replica is not active right now., e.what() = DB::Exception')), 'read-only');
  assert.equal(classifyClusterFailure(wrap('Code: 225, e.displayText() = DB::Exception: ZooKeeper session has been expired.: Insertion status:')), 'zookeeper');
  assert.equal(classifyClusterFailure(wrap('Code: 292, e.displayText() = DB::Exception: Received from 127.0.0.1:38743. DB::Exception: Leader was suddenly changed or logical error.., e.what() = DB::Exception')), 'outcome-unknown');
  assert.equal(classifyClusterFailure(wrap(STALE)), 'stale-replica');
  assert.equal(classifyClusterFailure(wrap('Code: 999, e.displayText() = Coordination::Exception: Connection loss')), 'zookeeper');
  assert.equal(classifyClusterFailure(wrap('Code: 279, e.displayText() = DB::Exception: All connection tries failed.')), 'outcome-unknown');
  assert.equal(classifyClusterFailure(wrap('Timeout error.')), 'outcome-unknown');
  // The coordinator lost its connection to the shard replica it was writing to (that replica was killed mid-insert).
  assert.equal(classifyClusterFailure(wrap(SHARD_EOF)), 'outcome-unknown');
  assert.equal(
    classifyClusterFailure(wrap('Code: 210, e.displayText() = DB::NetException: Connection reset by peer, while reading from socket (127.0.0.1:42613), e.what() = DB::NetException')),
    'outcome-unknown',
  );
  // A restarted replica whose old ZooKeeper session expired while it took an insert (seen in the failover test).
  assert.equal(
    classifyClusterFailure(
      wrap(
        "Code: 244, e.displayText() = DB::Exception: Received from 127.0.0.1:40839. DB::Exception: Unexpected logical error while adding block 36 with ID '20261130_12603577708342765966_6652532995753884651': " +
          'No node, path /clickhouse/control_plane/1/control_plane_local__acme/events/gmx3ljqx7/replicas/s1r2/is_active., e.what() = DB::Exception',
      ),
    ),
    'zookeeper',
  );
  // A replica still holding stray parts after its restart: the insert waiting for it is tried again.
  assert.equal(classifyClusterFailure(new StrayPartsRemainError('http://127.0.0.1:1 still holds stray parts')), 'outcome-unknown');
  assert.equal(classifyClusterFailure(Object.assign(new Error('settling failed'), { cause: new StrayPartsRemainError('x') })), 'outcome-unknown');
  assert.equal(classifyClusterFailure(wrap('Code: 252, e.displayText() = DB::Exception: Too many parts (300).')), 'overloaded');
  assert.equal(classifyClusterFailure(wrap(UNKNOWN_COLUMN)), 'permanent');
});

test('a refused or reset connection means the node did not take the call', () => {
  const refused = wrap('connect ECONNREFUSED 127.0.0.1:9', { code: 'ECONNREFUSED' });
  assert.ok(refused instanceof AppError);
  assert.equal(isNodeUnreachable(refused), true);
  assert.equal(classifyClusterFailure(refused), 'node-unreachable');
  assert.equal(isNodeUnreachable(wrap('socket hang up', { code: 'ECONNRESET' })), true);
  assert.equal(isNodeUnreachable(wrap(READ_ONLY)), false);
  assert.equal(isNodeUnreachable(wrap('Timeout error.')), false);
});
