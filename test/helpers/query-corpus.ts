// The correctness corpus: each query in our SQL subset (or the DSL) with the
// same query written by hand in ClickHouse SQL. Used by the corpus integration
// test (results must match on both engines) and by the query bench (q-error).
import type { QueryInput } from '../../src/query/query-planner.js';
import { BASE_TS, DAY_MS } from './query-fixture.js';

export interface Case {
  name: string;
  input: QueryInput;
  /** Hand-written ClickHouse SQL; {E} and {U} are acme's events and users tables. */
  hand: string;
  ordered?: boolean;
}

const ms = (iso: string) => Date.parse(iso);
const sql = (name: string, text: string, hand: string, ordered = false): Case => ({ name, input: { sql: text }, hand, ordered });

export const CORPUS: Case[] = [
  sql('count all', 'SELECT count() FROM events', 'SELECT count() FROM {E}'),
  sql('count star with bool filter', 'SELECT count(*) AS n FROM events WHERE paid = true', 'SELECT count() FROM {E} WHERE paid = 1'),
  sql('group by country', 'SELECT country, count() AS n FROM events GROUP BY country', 'SELECT country, count() FROM {E} GROUP BY country'),
  sql('all aggregates', 'SELECT country, sum(amount) AS s, avg(amount) AS a, min(amount), max(amount) FROM events GROUP BY country', 'SELECT country, sum(amount), avg(amount), min(amount), max(amount) FROM {E} GROUP BY country'),
  sql('count distinct', 'SELECT count(DISTINCT user_id) AS users FROM events', 'SELECT uniqExact(user_id) FROM {E}'),
  sql('having count distinct', 'SELECT country, count(DISTINCT page) AS p FROM events GROUP BY country HAVING count(DISTINCT page) > 3', 'SELECT country, uniqExact(page) FROM {E} GROUP BY country HAVING uniqExact(page) > 3'),
  sql('top by amount', 'SELECT data_id, amount FROM events WHERE amount > 900 ORDER BY amount DESC, data_id LIMIT 10', 'SELECT data_id, amount FROM {E} WHERE amount > 900 ORDER BY amount DESC, data_id LIMIT 10', true),
  sql('limit offset', 'SELECT data_id FROM events ORDER BY data_id LIMIT 5 OFFSET 5', 'SELECT data_id FROM {E} ORDER BY data_id LIMIT 5, 5', true),
  sql('limit comma form', 'SELECT data_id FROM events ORDER BY data_id DESC LIMIT 3, 4', 'SELECT data_id FROM {E} ORDER BY data_id DESC LIMIT 3, 4', true),
  sql('in and not in', "SELECT count() FROM events WHERE country IN ('NL', 'DE') AND page NOT IN ('/help')", "SELECT count() FROM {E} WHERE country IN ('NL', 'DE') AND page NOT IN ('/help')"),
  sql('between', 'SELECT count(), sum(amount) FROM events WHERE amount BETWEEN 100 AND 200', 'SELECT count(), sum(amount) FROM {E} WHERE amount >= 100 AND amount <= 200'),
  sql('not between', 'SELECT count() FROM events WHERE amount NOT BETWEEN 100 AND 900', 'SELECT count() FROM {E} WHERE NOT (amount >= 100 AND amount <= 900)'),
  sql('like prefix', "SELECT page, count() FROM events WHERE page LIKE '/c%' GROUP BY page", "SELECT page, count() FROM {E} WHERE page LIKE '/c%' GROUP BY page"),
  sql('not like', "SELECT count() FROM events WHERE page NOT LIKE '%e%'", "SELECT count() FROM {E} WHERE NOT (page LIKE '%e%')"),
  sql('ilike', "SELECT count() FROM events WHERE country ILIKE 'nl'", "SELECT count() FROM {E} WHERE lower(country) = 'nl'"),
  sql('is null', 'SELECT count() FROM events WHERE amount IS NULL', 'SELECT count() FROM {E} WHERE isNull(amount)'),
  sql('is not null and not', 'SELECT count() FROM events WHERE paid IS NOT NULL AND NOT paid', 'SELECT count() FROM {E} WHERE isNotNull(paid) AND paid = 0'),
  sql(
    'timestamp range',
    "SELECT count(), sum(amount) FROM events WHERE ts_ms >= TIMESTAMP '2026-11-01' AND ts_ms < TIMESTAMP '2026-11-10'",
    `SELECT count(), sum(amount) FROM {E} WHERE ts_ms >= ${ms('2026-11-01T00:00:00Z')} AND ts_ms < ${ms('2026-11-10T00:00:00Z')}`,
  ),
  sql('iso string vs ts_ms', "SELECT count() FROM events WHERE ts_ms < '2026-10-20T12:00:00Z'", `SELECT count() FROM {E} WHERE ts_ms < ${ms('2026-10-20T12:00:00Z')}`),
  sql('date equality', "SELECT count() FROM events WHERE date = DATE '2026-10-20'", "SELECT count() FROM {E} WHERE date = toDate('2026-10-20')"),
  sql('date between grouped', "SELECT date, count() AS n FROM events WHERE date BETWEEN '2026-10-20' AND '2026-10-25' GROUP BY date ORDER BY date", "SELECT date, count() FROM {E} WHERE date >= toDate('2026-10-20') AND date <= toDate('2026-10-25') GROUP BY date ORDER BY date", true),
  sql('per day', 'SELECT toDate(ts_ms) AS d, count() AS n FROM events GROUP BY toDate(ts_ms) ORDER BY d', "SELECT toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS d, count() FROM {E} GROUP BY d ORDER BY d", true),
  sql('per hour top', 'SELECT toStartOfHour(ts_ms) AS h, count() AS n FROM events GROUP BY toStartOfHour(ts_ms) ORDER BY n DESC, h LIMIT 5', "SELECT toStartOfHour(toDateTime(intDiv(ts_ms, 1000), 'UTC')) AS h, count() AS n FROM {E} GROUP BY h ORDER BY n DESC, h LIMIT 5", true),
  sql('per month', 'SELECT toYYYYMM(ts_ms) AS m, count() FROM events GROUP BY toYYYYMM(ts_ms)', "SELECT toYYYYMM(toDateTime(intDiv(ts_ms, 1000), 'UTC')), count() FROM {E} GROUP BY toYYYYMM(toDateTime(intDiv(ts_ms, 1000), 'UTC'))"),
  sql('start of month of date', 'SELECT toStartOfMonth(date) AS m, sum(amount) FROM events GROUP BY toStartOfMonth(date)', 'SELECT toStartOfMonth(date), sum(amount) FROM {E} GROUP BY toStartOfMonth(date)'),
  sql('day of week', 'SELECT toDayOfWeek(ts_ms) AS w, count() FROM events GROUP BY toDayOfWeek(ts_ms)', "SELECT toDayOfWeek(toDateTime(intDiv(ts_ms, 1000), 'UTC')), count() FROM {E} GROUP BY toDayOfWeek(toDateTime(intDiv(ts_ms, 1000), 'UTC'))"),
  sql('arithmetic', 'SELECT data_id, amount * 2 + 1 AS x, amount / 3 AS y FROM events WHERE amount > 990 ORDER BY data_id', 'SELECT data_id, amount * 2 + 1, amount / 3 FROM {E} WHERE amount > 990 ORDER BY data_id', true),
  sql('math functions', 'SELECT data_id, round(amount, 1), floor(amount), ceil(amount), abs(amount - 500) FROM events WHERE amount < 20 ORDER BY data_id', 'SELECT data_id, round(amount, 1), floor(amount), ceil(amount), abs(amount - 500) FROM {E} WHERE amount < 20 ORDER BY data_id', true),
  sql('string functions distinct', 'SELECT DISTINCT upper(country) AS c, length(page) AS l, substring(page, 1, 2) AS s FROM events', 'SELECT DISTINCT upper(country), length(page), substring(page, 1, 2) FROM {E}'),
  sql('coalesce', 'SELECT country, sum(coalesce(amount, 0)) AS s FROM events GROUP BY country', 'SELECT country, sum(ifNull(amount, 0)) FROM {E} GROUP BY country'),
  sql('case when', "SELECT CASE WHEN amount > 500 THEN 'big' ELSE 'small' END AS size, count() AS n FROM events GROUP BY CASE WHEN amount > 500 THEN 'big' ELSE 'small' END", "SELECT multiIf(amount > 500, 'big', 'small') AS size, count() FROM {E} GROUP BY size"),
  sql('distinct', 'SELECT DISTINCT country FROM events', 'SELECT DISTINCT country FROM {E}'),
  sql('concat operator', "SELECT country || '-' || page AS k, count() FROM events GROUP BY country || '-' || page", "SELECT concat(concat(country, '-'), page) AS k, count() FROM {E} GROUP BY k"),
  sql(
    'inner join',
    'SELECT e.data_id, u.name FROM events e JOIN users u ON e.user_id = u.data_id WHERE e.amount > 950 ORDER BY e.data_id',
    'SELECT data_id, name FROM (SELECT data_id, user_id FROM {E} WHERE amount > 950) AS a ALL INNER JOIN (SELECT data_id AS user_id, name FROM {U}) AS b USING user_id ORDER BY data_id',
    true,
  ),
  sql(
    'left join grouped',
    'SELECT u.country, count() AS n FROM events e LEFT JOIN users u ON e.user_id = u.data_id GROUP BY u.country',
    'SELECT ucountry, count() FROM (SELECT user_id FROM {E}) AS a ALL LEFT JOIN (SELECT data_id AS user_id, country AS ucountry FROM {U}) AS b USING user_id GROUP BY ucountry',
  ),
  sql(
    'join aggregate having',
    'SELECT u.name, sum(e.amount) AS s FROM events e INNER JOIN users u ON e.user_id = u.data_id GROUP BY u.name HAVING sum(e.amount) > 10000',
    'SELECT name, sum(amount) AS s FROM (SELECT user_id, amount FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id, name FROM {U}) AS b USING user_id GROUP BY name HAVING s > 10000',
  ),
  sql(
    'three-way join',
    'SELECT count() AS n FROM events e JOIN users u ON e.user_id = u.data_id JOIN users v ON u.data_id = v.data_id WHERE v.age > 50',
    'SELECT count() FROM (SELECT user_id FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id FROM {U} WHERE age > 50) AS b USING user_id',
  ),
  sql(
    'join with extra on condition',
    'SELECT count() FROM events e JOIN users u ON e.user_id = u.data_id AND e.amount > u.age * 10',
    'SELECT count() FROM (SELECT user_id, amount FROM {E}) AS a ALL INNER JOIN (SELECT data_id AS user_id, age FROM {U}) AS b USING user_id WHERE amount > age * 10',
  ),
  sql('select star', 'SELECT * FROM users ORDER BY data_id LIMIT 5', 'SELECT data_id, ts_ms, date, lsn, payload, name, country, age FROM {U} ORDER BY data_id LIMIT 5', true),
  sql('or and not', "SELECT count() FROM events WHERE (country = 'NL' OR country = 'DE') AND NOT (page = '/')", "SELECT count() FROM {E} WHERE (country = 'NL' OR country = 'DE') AND NOT (page = '/')"),
  sql('month window', "SELECT count(), min(ts_ms), max(ts_ms) FROM events WHERE date >= '2026-11-01'", "SELECT count(), min(ts_ms), max(ts_ms) FROM {E} WHERE date >= toDate('2026-11-01')"),
  sql('having alias', 'SELECT country, count() AS n FROM events GROUP BY country HAVING n > 100 ORDER BY n DESC, country', 'SELECT country, count() AS n FROM {E} GROUP BY country HAVING n > 100 ORDER BY n DESC, country', true),
  sql('alias shadows a column', 'SELECT data_id, amount AS country FROM events WHERE amount > 995 ORDER BY country, data_id', 'SELECT data_id, amount FROM {E} WHERE amount > 995 ORDER BY amount, data_id', true),
  sql('quoted string literal', "SELECT data_id FROM users WHERE name = 'user 7 O''Brien'", "SELECT data_id FROM {U} WHERE name = 'user 7 O\\'Brien'"),
  sql('in list and not equal', "SELECT count() FROM events WHERE user_id IN ('u1', 'u2', 'u3') AND data_id != 'e1'", "SELECT count() FROM {E} WHERE user_id IN ('u1', 'u2', 'u3') AND data_id != 'e1'"),
  sql('negative numbers', 'SELECT count() FROM events WHERE amount > -1 AND -amount < 0', 'SELECT count() FROM {E} WHERE amount > -1 AND -amount < 0'),
  sql('modulo', 'SELECT count() FROM events WHERE lsn % 2 = 0', 'SELECT count() FROM {E} WHERE lsn % 2 = 0'),
  sql('avg with nulls', 'SELECT country, avg(age) AS a, count(age) AS c FROM users GROUP BY country', 'SELECT country, avg(age), count(age) FROM {U} GROUP BY country'),
  {
    name: 'dsl: filter, group, aggregate',
    input: { dsl: { table: 'events', filter: { and: [{ column: 'country', op: 'eq', value: 'NL' }, { column: 'amount', op: 'gte', value: 500 }] }, groupBy: ['page'], aggregations: [{ fn: 'count' }, { fn: 'sum', column: 'amount' }] } },
    hand: "SELECT page, count(), sum(amount) FROM {E} WHERE country = 'NL' AND amount >= 500 GROUP BY page",
  },
  {
    name: 'dsl: or, not, order, limit',
    input: { dsl: { table: 'events', select: ['data_id', 'amount'], filter: { or: [{ column: 'page', op: 'eq', value: '/buy' }, { not: { column: 'amount', op: 'lt', value: 999 } }] }, orderBy: [{ column: 'data_id', direction: 'desc' }], limit: 7 } },
    hand: "SELECT data_id, amount FROM {E} WHERE page = '/buy' OR NOT (amount < 999) ORDER BY data_id DESC LIMIT 7",
    ordered: true,
  },
  {
    name: 'dsl: in, between, isNull, count_distinct',
    input: { dsl: { table: 'events', filter: { and: [{ column: 'country', op: 'in', value: ['FR', 'BE'] }, { column: 'ts_ms', op: 'between', value: [BASE_TS, BASE_TS + 20 * DAY_MS] }, { column: 'paid', op: 'isNotNull' }] }, aggregations: [{ fn: 'count_distinct', column: 'user_id', as: 'users' }] } },
    hand: `SELECT uniqExact(user_id) FROM {E} WHERE country IN ('FR', 'BE') AND ts_ms >= ${BASE_TS} AND ts_ms <= ${BASE_TS + 20 * DAY_MS} AND isNotNull(paid)`,
  },
];

/** One value as the corpus compares it: integers sent as strings read as numbers, floats to 10 significant digits. */
function norm(v: unknown): unknown {
  if (typeof v === 'string' && /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  if (typeof v === 'number' && !Number.isInteger(v)) return Number(v.toPrecision(10));
  return v;
}

/** A result as the corpus compares it: rows of normalized values, sorted unless the query orders them. */
export function normalizeRows(rows: Record<string, unknown>[], ordered: boolean): unknown[][] {
  const out = rows.map((r) => Object.values(r).map(norm));
  if (!ordered) out.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));
  return out;
}
