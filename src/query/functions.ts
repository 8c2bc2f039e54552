// The functions a query may call (docs/sql.md): name, arity, argument types,
// result type and how each renders in ClickHouse SQL on both 18.16 and 26.x.
// A name missing here is refused, which is what keeps file(), url(), remote()
// and every other engine function out of reach.
import { NUMERIC_TYPES, type SqlType } from './bound.js';

export interface FunctionSpec {
  agg: boolean;
  minArgs: number;
  maxArgs: number;
  /** Result type from the argument types; a string is a type error message. */
  result(args: SqlType[], distinct: boolean): SqlType | string;
}

const isNum = (t: SqlType) => NUMERIC_TYPES.has(t) || t === 'Null';
const isStr = (t: SqlType) => t === 'String' || t === 'Null';
const isTime = (t: SqlType) => t === 'Int64' || t === 'UInt64' || t === 'Date' || t === 'DateTime' || t === 'Null';

const numeric = (name: string, out: (a: SqlType[]) => SqlType) => (a: SqlType[]) =>
  a.every(isNum) ? out(a) : `${name}() needs numeric arguments, got ${a.join(', ')}`;
const strings = (name: string, out: SqlType) => (a: SqlType[]) =>
  isStr(a[0]!) ? out : `${name}() needs a String argument, got ${a[0]}`;
/** Time functions take ts_ms-like epoch milliseconds (Int64), a Date or a DateTime. */
const time = (name: string, out: SqlType, dateOk = true) => (a: SqlType[]) => {
  if (!isTime(a[0]!)) return `${name}() needs epoch milliseconds (e.g. ts_ms), a Date or a DateTime, got ${a[0]}`;
  if (!dateOk && a[0] === 'Date') return `${name}() needs a time with hours (ts_ms or a DateTime), got Date`;
  return out;
};

export const FUNCTIONS: Record<string, FunctionSpec> = {
  count: { agg: true, minArgs: 0, maxArgs: 1, result: () => 'UInt64' },
  sum: { agg: true, minArgs: 1, maxArgs: 1, result: numeric('sum', (a) => (a[0] === 'Float64' ? 'Float64' : 'Int64')) },
  avg: { agg: true, minArgs: 1, maxArgs: 1, result: numeric('avg', () => 'Float64') },
  min: { agg: true, minArgs: 1, maxArgs: 1, result: (a) => a[0]! },
  max: { agg: true, minArgs: 1, maxArgs: 1, result: (a) => a[0]! },

  lower: { agg: false, minArgs: 1, maxArgs: 1, result: strings('lower', 'String') },
  upper: { agg: false, minArgs: 1, maxArgs: 1, result: strings('upper', 'String') },
  length: { agg: false, minArgs: 1, maxArgs: 1, result: strings('length', 'UInt64') },
  substring: {
    agg: false,
    minArgs: 2,
    maxArgs: 3,
    result: (a) => (isStr(a[0]!) && a.slice(1).every(isNum) ? 'String' : 'substring(s, start[, length]) needs a String and integers'),
  },
  concat: { agg: false, minArgs: 2, maxArgs: 16, result: (a) => (a.every(isStr) ? 'String' : 'concat() needs String arguments') },
  abs: { agg: false, minArgs: 1, maxArgs: 1, result: numeric('abs', (a) => a[0]!) },
  round: { agg: false, minArgs: 1, maxArgs: 2, result: numeric('round', () => 'Float64') },
  floor: { agg: false, minArgs: 1, maxArgs: 1, result: numeric('floor', () => 'Float64') },
  ceil: { agg: false, minArgs: 1, maxArgs: 1, result: numeric('ceil', () => 'Float64') },
  coalesce: {
    agg: false,
    minArgs: 2,
    maxArgs: 16,
    result: (a) => {
      const known = a.filter((t) => t !== 'Null');
      if (known.length === 0) return 'Null';
      const first = known[0]!;
      const ok = known.every((t) => t === first || (isNum(t) && isNum(first)));
      return ok ? (known.every((t) => t === first) ? first : 'Float64') : `coalesce() arguments must share a type, got ${a.join(', ')}`;
    },
  },

  todate: { agg: false, minArgs: 1, maxArgs: 1, result: time('toDate', 'Date') },
  todatetime: { agg: false, minArgs: 1, maxArgs: 1, result: time('toDateTime', 'DateTime') },
  tostartofhour: { agg: false, minArgs: 1, maxArgs: 1, result: time('toStartOfHour', 'DateTime', false) },
  tostartofday: { agg: false, minArgs: 1, maxArgs: 1, result: time('toStartOfDay', 'DateTime') },
  tostartofmonth: { agg: false, minArgs: 1, maxArgs: 1, result: time('toStartOfMonth', 'Date') },
  toyyyymm: { agg: false, minArgs: 1, maxArgs: 1, result: time('toYYYYMM', 'Int64') },
  toyear: { agg: false, minArgs: 1, maxArgs: 1, result: time('toYear', 'Int64') },
  tomonth: { agg: false, minArgs: 1, maxArgs: 1, result: time('toMonth', 'Int64') },
  todayofmonth: { agg: false, minArgs: 1, maxArgs: 1, result: time('toDayOfMonth', 'Int64') },
  todayofweek: { agg: false, minArgs: 1, maxArgs: 1, result: time('toDayOfWeek', 'Int64') },
  tohour: { agg: false, minArgs: 1, maxArgs: 1, result: time('toHour', 'Int64', false) },
};

/** ClickHouse spelling of each function (our names are case-insensitive). */
export const CLICKHOUSE_NAME: Record<string, string> = {
  count: 'count',
  sum: 'sum',
  avg: 'avg',
  min: 'min',
  max: 'max',
  lower: 'lower',
  upper: 'upper',
  length: 'length',
  substring: 'substring',
  concat: 'concat',
  abs: 'abs',
  round: 'round',
  floor: 'floor',
  ceil: 'ceil',
  coalesce: 'coalesce',
  todate: 'toDate',
  todatetime: 'toDateTime',
  tostartofhour: 'toStartOfHour',
  tostartofday: 'toStartOfDay',
  tostartofmonth: 'toStartOfMonth',
  toyyyymm: 'toYYYYMM',
  toyear: 'toYear',
  tomonth: 'toMonth',
  todayofmonth: 'toDayOfMonth',
  todayofweek: 'toDayOfWeek',
  tohour: 'toHour',
};

export const TIME_FUNCTIONS = new Set(Object.keys(FUNCTIONS).filter((f) => f.startsWith('to')));
