// Recursive-descent parser for the SELECT subset documented in docs/sql.md.
// Anything outside the grammar is a 400 naming what was found and where; the
// hostile cases (DDL/DML, SETTINGS, FORMAT, INTO OUTFILE, table functions,
// other databases, subqueries, UNION, several statements) get their own words
// so a caller learns why, not just that.
import type { Expr, JoinClause, OrderItem, Pos, SelectItem, SelectQuery, TableRef } from './ast.js';
import { sqlError, tokenize, type Token } from './sql-lexer.js';

export const RESERVED = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'HAVING', 'ORDER', 'LIMIT', 'OFFSET', 'JOIN', 'INNER', 'LEFT', 'RIGHT',
  'FULL', 'CROSS', 'OUTER', 'ON', 'USING', 'AS', 'AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'LIKE', 'ILIKE', 'IS', 'NULL',
  'TRUE', 'FALSE', 'CASE', 'WHEN', 'THEN', 'ELSE', 'END', 'DISTINCT', 'ASC', 'DESC', 'UNION', 'EXCEPT', 'INTERSECT',
  'SETTINGS', 'FORMAT', 'INTO', 'WITH', 'PREWHERE', 'ARRAY', 'SAMPLE', 'FINAL', 'GLOBAL', 'ANY', 'ALL', 'ASOF',
  'SEMI', 'ANTI', 'WINDOW', 'QUALIFY', 'NULLS', 'INTERVAL', 'OVER', 'PASTE', 'LIMITS',
]);

// Clauses ClickHouse would accept after a SELECT that we never do: each has a reason.
const REFUSED_TAIL: Record<string, string> = {
  SETTINGS: 'SETTINGS is not allowed',
  FORMAT: 'FORMAT is not allowed (the response format is chosen with the Accept header)',
  INTO: 'INTO OUTFILE is not allowed',
  UNION: 'UNION is not allowed',
  EXCEPT: 'EXCEPT is not allowed',
  INTERSECT: 'INTERSECT is not allowed',
  PREWHERE: 'PREWHERE is not allowed (use WHERE; the optimizer pushes predicates down)',
  SAMPLE: 'SAMPLE is not allowed',
  FINAL: 'FINAL is not allowed',
  ARRAY: 'ARRAY JOIN is not allowed',
  WINDOW: 'window functions are not supported',
  QUALIFY: 'QUALIFY is not supported',
  WITH: 'WITH is not supported',
};

const MAX_DEPTH = 64;

export function parseSql(sql: string): SelectQuery {
  if (typeof sql !== 'string' || sql.trim() === '') throw sqlError('empty query', { line: 1, column: 1, offset: 0 });
  return new Parser(tokenize(sql)).parseStatement();
}

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  parseStatement(): SelectQuery {
    const first = this.peek();
    if (!this.isKeyword(first, 'SELECT')) {
      if (first.kind === 'op' && first.text === '(') throw sqlError('a parenthesised query is not allowed; start with SELECT', first.pos);
      const what = first.kind === 'eof' ? 'an empty query' : `'${first.text}'`;
      throw sqlError(`only SELECT queries are allowed, got ${what}`, first.pos, { near: first.text });
    }
    const query = this.parseSelect();
    const tail = this.peek();
    if (tail.kind === 'op' && tail.text === ';') {
      this.i++;
      const after = this.peek();
      if (after.kind !== 'eof') throw sqlError('multiple statements are not allowed', after.pos, { near: after.text });
      return query;
    }
    if (tail.kind !== 'eof') this.unexpected(tail);
    return query;
  }

  private parseSelect(): SelectQuery {
    this.expectKeyword('SELECT');
    const distinct = this.acceptKeyword('DISTINCT');
    if (this.isKeyword(this.peek(), 'ALL')) this.i++;
    let star = false;
    const items: SelectItem[] = [];
    if (this.acceptOp('*')) {
      star = true;
      if (this.isOp(this.peek(), ',')) throw sqlError('* cannot be combined with other select items', this.peek().pos);
    } else {
      do items.push(this.parseSelectItem());
      while (this.acceptOp(','));
    }
    if (!this.isKeyword(this.peek(), 'FROM')) {
      const t = this.peek();
      if (t.kind === 'eof') throw sqlError('FROM is required: a query reads one of your tables', t.pos);
      this.unexpected(t);
    }
    this.i++;
    const from = this.parseTableRef();
    const joins: JoinClause[] = [];
    for (;;) {
      const j = this.parseJoin();
      if (!j) break;
      joins.push(j);
    }
    const query: SelectQuery = { kind: 'select', distinct, star, items, from, joins, groupBy: [], orderBy: [] };
    if (this.acceptKeyword('WHERE')) query.where = this.parseExpr();
    if (this.acceptKeyword('GROUP')) {
      this.expectKeyword('BY');
      do query.groupBy.push(this.parseExpr());
      while (this.acceptOp(','));
    }
    if (this.acceptKeyword('HAVING')) query.having = this.parseExpr();
    if (this.acceptKeyword('ORDER')) {
      this.expectKeyword('BY');
      do query.orderBy.push(this.parseOrderItem());
      while (this.acceptOp(','));
    }
    if (this.acceptKeyword('LIMIT')) {
      const first = this.parseCount('LIMIT');
      if (this.acceptOp(',')) {
        query.offset = first;
        query.limit = this.parseCount('LIMIT');
      } else {
        query.limit = first;
        if (this.acceptKeyword('OFFSET')) query.offset = this.parseCount('OFFSET');
      }
    } else if (this.acceptKeyword('OFFSET')) {
      query.offset = this.parseCount('OFFSET');
    }
    return query;
  }

  private parseSelectItem(): SelectItem {
    const pos = this.peek().pos;
    const expr = this.parseExpr();
    const alias = this.parseAlias();
    return alias === undefined ? { expr, pos } : { expr, alias, pos };
  }

  private parseAlias(): string | undefined {
    if (this.acceptKeyword('AS')) return this.expectName('an alias');
    const t = this.peek();
    if (t.kind === 'quoted' || (t.kind === 'ident' && !RESERVED.has(t.upper))) {
      this.i++;
      return t.text;
    }
    return undefined;
  }

  private parseTableRef(): TableRef {
    const t = this.peek();
    if (this.isOp(t, '(')) {
      const next = this.tokens[this.i + 1];
      if (next && this.isKeyword(next, 'SELECT')) throw sqlError('subqueries are not allowed', t.pos);
      throw sqlError('expected a table name', t.pos);
    }
    if (t.kind !== 'ident' && t.kind !== 'quoted') throw sqlError(`expected a table name, got ${describe(t)}`, t.pos);
    if (t.kind === 'ident' && RESERVED.has(t.upper)) throw sqlError(`expected a table name, got keyword ${t.upper}`, t.pos);
    this.i++;
    const after = this.peek();
    if (this.isOp(after, '.')) {
      throw sqlError(`database-qualified table names are not allowed ('${t.text}.…'); name one of your own tables`, t.pos);
    }
    if (this.isOp(after, '(')) throw sqlError(`table functions are not allowed ('${t.text}(…)')`, t.pos);
    const alias = this.parseAlias();
    if (this.isKeyword(this.peek(), 'FINAL')) throw sqlError(REFUSED_TAIL.FINAL!, this.peek().pos);
    return alias === undefined ? { table: t.text, pos: t.pos } : { table: t.text, alias, pos: t.pos };
  }

  private parseJoin(): JoinClause | undefined {
    const t = this.peek();
    if (t.kind !== 'ident') {
      if (this.isOp(t, ',')) throw sqlError('comma joins are not supported; use INNER JOIN … ON', t.pos);
      return undefined;
    }
    let type: 'inner' | 'left';
    if (t.upper === 'JOIN') {
      type = 'inner';
      this.i++;
    } else if (t.upper === 'INNER') {
      this.i++;
      this.expectKeyword('JOIN');
      type = 'inner';
    } else if (t.upper === 'LEFT') {
      this.i++;
      this.acceptKeyword('OUTER');
      this.expectKeyword('JOIN');
      type = 'left';
    } else if (['RIGHT', 'FULL', 'CROSS', 'GLOBAL', 'ANY', 'ALL', 'ASOF', 'SEMI', 'ANTI', 'PASTE', 'OUTER'].includes(t.upper)) {
      throw sqlError(`${t.upper} JOIN is not supported; use INNER JOIN or LEFT JOIN`, t.pos);
    } else if (t.upper === 'ARRAY') {
      throw sqlError(REFUSED_TAIL.ARRAY!, t.pos);
    } else {
      return undefined;
    }
    const table = this.parseTableRef();
    if (this.isKeyword(this.peek(), 'USING')) throw sqlError('JOIN … USING is not supported; use ON', this.peek().pos);
    this.expectKeyword('ON');
    const on = this.parseExpr();
    return { type, table, on, pos: t.pos };
  }

  private parseOrderItem(): OrderItem {
    const pos = this.peek().pos;
    const expr = this.parseExpr();
    let desc = false;
    if (this.acceptKeyword('DESC')) desc = true;
    else this.acceptKeyword('ASC');
    if (this.isKeyword(this.peek(), 'NULLS')) throw sqlError('NULLS FIRST/LAST is not supported', this.peek().pos);
    return { expr, desc, pos };
  }

  private parseCount(clause: string): number {
    const t = this.peek();
    if (t.kind !== 'number' || !/^[0-9]+$/.test(t.text)) throw sqlError(`${clause} needs a non-negative integer, got ${describe(t)}`, t.pos);
    const n = Number(t.text);
    if (!Number.isSafeInteger(n)) throw sqlError(`${clause} ${t.text} is out of range`, t.pos);
    this.i++;
    return n;
  }

  // ---- expressions, lowest precedence first ----

  parseExpr(): Expr {
    if (++this.depth > MAX_DEPTH) throw sqlError(`expression nests deeper than ${MAX_DEPTH} levels`, this.peek().pos);
    try {
      return this.parseOr();
    } finally {
      this.depth--;
    }
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword(this.peek(), 'OR')) {
      const pos = this.next().pos;
      left = { kind: 'binary', op: 'or', left, right: this.parseAnd(), pos };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword(this.peek(), 'AND')) {
      const pos = this.next().pos;
      left = { kind: 'binary', op: 'and', left, right: this.parseNot(), pos };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isKeyword(this.peek(), 'NOT')) {
      const pos = this.next().pos;
      if (++this.depth > MAX_DEPTH) throw sqlError(`expression nests deeper than ${MAX_DEPTH} levels`, pos);
      try {
        return { kind: 'unary', op: 'not', operand: this.parseNot(), pos };
      } finally {
        this.depth--;
      }
    }
    return this.parsePredicate();
  }

  private parsePredicate(): Expr {
    const left = this.parseAdditive();
    const t = this.peek();
    if (t.kind === 'op' && ['=', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.i++;
      return { kind: 'binary', op: t.text as '=', left, right: this.parseAdditive(), pos: t.pos };
    }
    if (t.kind !== 'ident') return left;
    let negated = false;
    if (t.upper === 'NOT') {
      const n = this.tokens[this.i + 1];
      if (n && n.kind === 'ident' && ['IN', 'BETWEEN', 'LIKE', 'ILIKE'].includes(n.upper)) {
        negated = true;
        this.i++;
      } else {
        return left;
      }
    }
    const op = this.peek();
    switch (op.upper) {
      case 'IN': {
        this.i++;
        const open = this.peek();
        this.expectOp('(');
        if (this.isKeyword(this.peek(), 'SELECT')) throw sqlError('subqueries are not allowed', this.peek().pos);
        if (this.isOp(this.peek(), ')')) throw sqlError('IN needs at least one value', open.pos);
        const list: Expr[] = [];
        do list.push(this.parseAdditive());
        while (this.acceptOp(','));
        this.expectOp(')');
        return { kind: 'in', expr: left, list, negated, pos: op.pos };
      }
      case 'BETWEEN': {
        this.i++;
        const low = this.parseAdditive();
        this.expectKeyword('AND');
        const high = this.parseAdditive();
        return { kind: 'between', expr: left, low, high, negated, pos: op.pos };
      }
      case 'LIKE':
      case 'ILIKE':
        this.i++;
        return { kind: 'like', expr: left, pattern: this.parseAdditive(), negated, caseInsensitive: op.upper === 'ILIKE', pos: op.pos };
      case 'IS': {
        this.i++;
        const neg = this.acceptKeyword('NOT');
        this.expectKeyword('NULL');
        return { kind: 'isNull', expr: left, negated: neg, pos: op.pos };
      }
      default:
        return left;
    }
  }

  private parseAdditive(): Expr {
    let left = this.parseMultiplicative();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.text !== '+' && t.text !== '-' && t.text !== '||')) return left;
      this.i++;
      left = { kind: 'binary', op: t.text, left, right: this.parseMultiplicative(), pos: t.pos };
    }
  }

  private parseMultiplicative(): Expr {
    let left = this.parseUnary();
    for (;;) {
      const t = this.peek();
      if (t.kind !== 'op' || (t.text !== '*' && t.text !== '/' && t.text !== '%')) return left;
      this.i++;
      left = { kind: 'binary', op: t.text, left, right: this.parseUnary(), pos: t.pos };
    }
  }

  private parseUnary(): Expr {
    const t = this.peek();
    if (this.isOp(t, '-') || this.isOp(t, '+')) {
      this.i++;
      if (++this.depth > MAX_DEPTH) throw sqlError(`expression nests deeper than ${MAX_DEPTH} levels`, t.pos);
      try {
        const operand = this.parseUnary();
        if (t.text === '+') return operand;
        if (operand.kind === 'literal' && typeof operand.value === 'number') return { ...operand, value: -operand.value, pos: t.pos };
        return { kind: 'unary', op: '-', operand, pos: t.pos };
      } finally {
        this.depth--;
      }
    }
    return this.parsePrimary();
  }

  private parsePrimary(): Expr {
    const t = this.next();
    switch (t.kind) {
      case 'number': {
        const value = Number(t.text);
        if (!Number.isFinite(value)) throw sqlError(`number ${t.text} is out of range`, t.pos);
        if (/^[0-9]+$/.test(t.text) && !Number.isSafeInteger(value)) throw sqlError(`integer ${t.text} is out of range`, t.pos);
        return { kind: 'literal', value, pos: t.pos };
      }
      case 'string':
        return { kind: 'literal', value: t.text, pos: t.pos };
      case 'op':
        if (t.text === '(') {
          if (this.isKeyword(this.peek(), 'SELECT')) throw sqlError('subqueries are not allowed', this.peek().pos);
          const inner = this.parseExpr();
          this.expectOp(')');
          return inner;
        }
        if (t.text === '*') throw sqlError('* is only allowed as SELECT * or count(*)', t.pos);
        throw sqlError(`unexpected ${describe(t)}`, t.pos, { near: t.text });
      case 'eof':
        throw sqlError('unexpected end of query', t.pos);
      case 'quoted':
        return this.parseNameRest(t);
      case 'ident':
        break;
    }
    switch (t.upper) {
      case 'NULL':
        return { kind: 'literal', value: null, pos: t.pos };
      case 'TRUE':
        return { kind: 'literal', value: true, pos: t.pos };
      case 'FALSE':
        return { kind: 'literal', value: false, pos: t.pos };
      case 'CASE':
        return this.parseCase(t.pos);
      case 'TIMESTAMP':
      case 'DATE': {
        const s = this.peek();
        if (s.kind === 'string') {
          this.i++;
          return { kind: 'typed', type: t.upper === 'DATE' ? 'date' : 'timestamp', value: s.text, pos: t.pos };
        }
        break;
      }
      case 'INTERVAL':
        throw sqlError('INTERVAL is not supported; compare ts_ms with TIMESTAMP literals', t.pos);
      case 'SELECT':
        throw sqlError('subqueries are not allowed', t.pos);
      default:
        if (REFUSED_TAIL[t.upper]) throw sqlError(REFUSED_TAIL[t.upper]!, t.pos);
        if (RESERVED.has(t.upper)) throw sqlError(`unexpected keyword ${t.upper}`, t.pos, { near: t.text });
    }
    return this.parseNameRest(t);
  }

  /** After an identifier: a function call, a qualified column or a plain column. */
  private parseNameRest(t: Token): Expr {
    if (this.isOp(this.peek(), '(')) {
      if (t.kind === 'quoted') throw sqlError('function names cannot be quoted', t.pos);
      this.i++;
      return this.parseCall(t);
    }
    if (this.acceptOp('.')) {
      const col = this.next();
      if (this.isOp(col, '*')) throw sqlError(`${t.text}.* is not supported; use * or name the columns`, col.pos);
      if (col.kind !== 'ident' && col.kind !== 'quoted') throw sqlError(`expected a column name after '${t.text}.'`, col.pos);
      if (this.isOp(this.peek(), '.')) throw sqlError('database-qualified names are not allowed', t.pos);
      if (this.isOp(this.peek(), '(')) throw sqlError('qualified function names are not allowed', t.pos);
      return { kind: 'column', table: t.text, name: col.text, pos: t.pos };
    }
    return { kind: 'column', name: t.text, pos: t.pos };
  }

  private parseCall(nameTok: Token): Expr {
    const name = nameTok.text.toLowerCase();
    if (this.isKeyword(this.peek(), 'SELECT')) throw sqlError('subqueries are not allowed', this.peek().pos);
    const distinct = this.acceptKeyword('DISTINCT');
    const args: Expr[] = [];
    if (this.isOp(this.peek(), '*')) {
      const star = this.next();
      args.push({ kind: 'star', pos: star.pos });
    } else if (!this.isOp(this.peek(), ')')) {
      do args.push(this.parseExpr());
      while (this.acceptOp(','));
    }
    this.expectOp(')');
    if (this.isKeyword(this.peek(), 'OVER')) throw sqlError('window functions are not supported', this.peek().pos);
    return { kind: 'call', name, args, distinct, pos: nameTok.pos };
  }

  private parseCase(pos: Pos): Expr {
    const whens: Array<{ when: Expr; then: Expr }> = [];
    if (!this.isKeyword(this.peek(), 'WHEN')) throw sqlError('only searched CASE WHEN … THEN … is supported', this.peek().pos);
    while (this.acceptKeyword('WHEN')) {
      const when = this.parseExpr();
      this.expectKeyword('THEN');
      whens.push({ when, then: this.parseExpr() });
    }
    const out: Expr = { kind: 'case', whens, pos };
    if (this.acceptKeyword('ELSE')) out.else = this.parseExpr();
    this.expectKeyword('END');
    return out;
  }

  // ---- token helpers ----

  private peek(): Token {
    return this.tokens[this.i]!;
  }

  private next(): Token {
    const t = this.tokens[this.i]!;
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isKeyword(t: Token, kw: string): boolean {
    return t.kind === 'ident' && t.upper === kw;
  }

  private isOp(t: Token, op: string): boolean {
    return t.kind === 'op' && t.text === op;
  }

  private acceptKeyword(kw: string): boolean {
    if (!this.isKeyword(this.peek(), kw)) return false;
    this.i++;
    return true;
  }

  private acceptOp(op: string): boolean {
    if (!this.isOp(this.peek(), op)) return false;
    this.i++;
    return true;
  }

  private expectKeyword(kw: string): void {
    const t = this.peek();
    if (!this.isKeyword(t, kw)) {
      if (t.kind === 'ident' && REFUSED_TAIL[t.upper]) throw sqlError(REFUSED_TAIL[t.upper]!, t.pos);
      throw sqlError(`expected ${kw}, got ${describe(t)}`, t.pos, { near: t.text });
    }
    this.i++;
  }

  private expectOp(op: string): void {
    const t = this.peek();
    if (!this.isOp(t, op)) throw sqlError(`expected '${op}', got ${describe(t)}`, t.pos, { near: t.text });
    this.i++;
  }

  private expectName(what: string): string {
    const t = this.peek();
    if (t.kind === 'quoted' || (t.kind === 'ident' && !RESERVED.has(t.upper))) {
      this.i++;
      return t.text;
    }
    throw sqlError(`expected ${what}, got ${describe(t)}`, t.pos);
  }

  private unexpected(t: Token): never {
    if (t.kind === 'ident' && REFUSED_TAIL[t.upper]) throw sqlError(REFUSED_TAIL[t.upper]!, t.pos);
    if (this.isOp(t, ';')) throw sqlError('multiple statements are not allowed', t.pos);
    throw sqlError(`unexpected ${describe(t)}`, t.pos, { near: t.text });
  }
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of query';
    case 'string':
      return 'a string literal';
    case 'number':
      return `number ${t.text}`;
    case 'ident':
      return RESERVED.has(t.upper) ? `keyword ${t.upper}` : `'${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}
