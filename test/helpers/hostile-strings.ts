// Strings that break naive SQL quoting, shared by the escaping unit test and
// the round trips through both ClickHouse engines.
export const HOSTILE_STRINGS: readonly string[] = [
  "'",
  '\\',
  "\\'",
  "'; DROP TABLE x; --",
  'a\0b',
  'line1\nline2',
  'tab\there',
  'esc\x1b[31m',
  'all C0: ' + Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join(''),
  'emoji 🦆👩‍👩‍👧',
  'RTL \u202Eשלום עולם\u202C مرحبا',
  'back`tick',
  'x'.repeat(10 * 1024),
  '',
];
