// The parsed form shared by SQL and the JSON DSL. Every node keeps the source
// position it came from so the validator can point at line and column.

export interface Pos {
  line: number;
  column: number;
  offset: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '||' | '=' | '!=' | '<' | '<=' | '>' | '>=' | 'and' | 'or';

export type LiteralValue = string | number | boolean | null;

export type Expr =
  | { kind: 'literal'; value: LiteralValue; pos: Pos }
  /** TIMESTAMP '…' (epoch ms once validated) or DATE 'YYYY-MM-DD'. */
  | { kind: 'typed'; type: 'timestamp' | 'date'; value: string; pos: Pos }
  | { kind: 'column'; table?: string; name: string; pos: Pos }
  /** Only as the argument of count(*). */
  | { kind: 'star'; pos: Pos }
  | { kind: 'call'; name: string; args: Expr[]; distinct: boolean; pos: Pos }
  | { kind: 'unary'; op: '-' | 'not'; operand: Expr; pos: Pos }
  | { kind: 'binary'; op: BinaryOp; left: Expr; right: Expr; pos: Pos }
  | { kind: 'in'; expr: Expr; list: Expr[]; negated: boolean; pos: Pos }
  | { kind: 'between'; expr: Expr; low: Expr; high: Expr; negated: boolean; pos: Pos }
  | { kind: 'like'; expr: Expr; pattern: Expr; negated: boolean; caseInsensitive: boolean; pos: Pos }
  | { kind: 'isNull'; expr: Expr; negated: boolean; pos: Pos }
  | { kind: 'case'; whens: Array<{ when: Expr; then: Expr }>; else?: Expr; pos: Pos };

export interface SelectItem {
  expr: Expr;
  alias?: string;
  pos: Pos;
}

export interface TableRef {
  table: string;
  alias?: string;
  pos: Pos;
}

export interface JoinClause {
  type: 'inner' | 'left';
  table: TableRef;
  on: Expr;
  pos: Pos;
}

export interface OrderItem {
  expr: Expr;
  desc: boolean;
  pos: Pos;
}

export interface SelectQuery {
  kind: 'select';
  distinct: boolean;
  /** SELECT * (all columns of every table in FROM/JOIN). */
  star: boolean;
  items: SelectItem[];
  from: TableRef;
  joins: JoinClause[];
  where?: Expr;
  groupBy: Expr[];
  having?: Expr;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

export const NO_POS: Pos = { line: 0, column: 0, offset: -1 };
