// Selectivity from column statistics: without a worker's sample the classic
// uniform estimates; with most common values and an equi-depth histogram,
// skewed columns are estimated by what was measured.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BExpr } from '../../src/query/bound.js';
import { DEFAULT_WEIGHTS } from '../../src/query/cbo/cost-model.js';
import { selectivity } from '../../src/query/cbo/selectivity.js';
import type { ColumnStat } from '../../src/query/column-stats.js';

const col = (name: string, type: 'String' | 'Float64' | 'Bool' = 'String'): BExpr => ({ k: 'col', ref: { t: 0, name }, type });
const lit = (value: string | number | boolean): BExpr => ({ k: 'lit', value, type: typeof value === 'string' ? 'String' : typeof value === 'boolean' ? 'Bool' : 'Float64' });
const bin = (op: '=' | '!=' | '<' | '<=' | '>' | '>=', left: BExpr, right: BExpr): BExpr => ({ k: 'bin', op, left, right, type: 'Bool' });
const near = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} vs ${b}`);

// country: NL is half the rows, DE a quarter, 18 other countries share the rest; 10 % nulls.
const country: ColumnStat = {
  distinct: 20,
  nullFraction: 0.1,
  mcv: [
    { value: 'NL', frequency: 0.5 },
    { value: 'DE', frequency: 0.25 },
  ],
};
// amount: 80 % of values in [0, 10], the rest spread to 1000 (four buckets of a quarter each).
const amount: ColumnStat = { distinct: 500, nullFraction: 0, min: 0, max: 1000, histogram: [0, 2, 5, 10, 1000] };
const stats = (e: BExpr) => (e.k === 'col' ? ({ country, amount, flat: { distinct: 20, nullFraction: 0.1 } } as Record<string, ColumnStat>)[e.ref.name] : undefined);
const sel = (e: BExpr) => selectivity(e, stats, DEFAULT_WEIGHTS);

test('equality and IN: a common value takes its frequency, another value an even share of the rest', () => {
  near(sel(bin('=', col('country'), lit('NL'))), 0.5, 'NL');
  near(sel(bin('=', lit('DE'), col('country'))), 0.25, 'DE, literal on the left');
  near(sel(bin('=', col('country'), lit('LU'))), (1 - 0.1 - 0.75) / 18, 'a rare value');
  near(sel(bin('!=', col('country'), lit('NL'))), 1 - 0.1 - 0.5, 'not NL');
  near(sel({ k: 'in', expr: col('country'), list: [lit('NL'), lit('DE'), lit('NL'), lit('LU')], negated: false, type: 'Bool' }), 0.75 + 0.15 / 18, 'IN counts each value once');
  // Without common values: 1/ndv of the non-null rows, as before.
  near(sel(bin('=', col('flat'), lit('NL'))), 0.9 / 20, 'uniform');
  // A Bool column compared with 1.
  const paid: ColumnStat = { distinct: 2, nullFraction: 0, mcv: [{ value: true, frequency: 0.9 }, { value: false, frequency: 0.1 }] };
  near(selectivity(bin('=', col('paid', 'Bool'), lit(1)), () => paid, DEFAULT_WEIGHTS), 0.9, 'true = 1');
});

test('ranges read the histogram: inclusive and exclusive bounds, both sides, BETWEEN', () => {
  near(sel(bin('<=', col('amount', 'Float64'), lit(10))), 0.75, 'three buckets of four lie at or below 10');
  near(sel(bin('<', col('amount', 'Float64'), lit(5))), 0.5, 'below 5');
  near(sel(bin('>', col('amount', 'Float64'), lit(10))), 0.25, 'above 10');
  near(sel(bin('>=', lit(10), col('amount', 'Float64'))), 0.75, '10 >= amount is amount <= 10');
  near(sel(bin('<', col('amount', 'Float64'), lit(505))), 0.75 + 0.25 * 0.5, 'linear inside the last bucket');
  near(sel({ k: 'between', expr: col('amount', 'Float64'), low: lit(2), high: lit(10), negated: false, type: 'Bool' }), 0.5, 'between 2 and 10');
  // The uniform estimate would have said 1 %: the histogram knows most values are small.
  const uniform = selectivity(bin('<=', col('amount', 'Float64'), lit(10)), () => ({ distinct: 500, nullFraction: 0, min: 0, max: 1000 }), DEFAULT_WEIGHTS);
  near(uniform, 0.01, 'min/max only');
  // A value that repeats: bounds 0,0,0 are all zero; < 0 keeps none of them, <= 0 all of them.
  const zeros: ColumnStat = { distinct: 5, nullFraction: 0, histogram: [0, 0, 0, 4, 9] };
  near(selectivity(bin('<', col('z', 'Float64'), lit(0)), () => zeros, DEFAULT_WEIGHTS), 0, '< 0');
  near(selectivity(bin('<=', col('z', 'Float64'), lit(0)), () => zeros, DEFAULT_WEIGHTS), 0.5, '<= 0');
});
