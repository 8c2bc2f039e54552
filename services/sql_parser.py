"""The control plane's SQL parser (src/query/sql-lexer.ts, sql-parser.ts) in Python.

POST /parse/sql is designated for remote workers, and a worker's answer must be
the control plane's own, byte for byte once parsed: the same AST (with line,
column and offset of every node) for every query, and the same 400 (message,
line, column, ``near``) for every query it refuses. The contract suite
(test/integration/workers-contract.integration.test.ts) checks it on hundreds
of inputs; a change to the TypeScript parser needs the same change here.

JavaScript strings are UTF-16: offsets, columns and lengths count code units,
and the lexer walks code units (a character outside the BMP is two). The text is
converted to code units first (``to_units``) and what goes back out is converted
back (``from_units``), so positions and messages agree for any input.
"""
from __future__ import annotations

import re
from typing import Any

MAX_SQL_LENGTH = 64 * 1024
MAX_DEPTH = 64

RESERVED = frozenset("""
SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT OFFSET JOIN INNER LEFT RIGHT FULL CROSS OUTER ON USING AS AND OR NOT
IN BETWEEN LIKE ILIKE IS NULL TRUE FALSE CASE WHEN THEN ELSE END DISTINCT ASC DESC UNION EXCEPT INTERSECT SETTINGS
FORMAT INTO WITH PREWHERE ARRAY SAMPLE FINAL GLOBAL ANY ALL ASOF SEMI ANTI WINDOW QUALIFY NULLS INTERVAL OVER PASTE
LIMITS
""".split())

REFUSED_TAIL = {
    "SETTINGS": "SETTINGS is not allowed",
    "FORMAT": "FORMAT is not allowed (the response format is chosen with the Accept header)",
    "INTO": "INTO OUTFILE is not allowed",
    "UNION": "UNION is not allowed",
    "EXCEPT": "EXCEPT is not allowed",
    "INTERSECT": "INTERSECT is not allowed",
    "PREWHERE": "PREWHERE is not allowed (use WHERE; the optimizer pushes predicates down)",
    "SAMPLE": "SAMPLE is not allowed",
    "FINAL": "FINAL is not allowed",
    "ARRAY": "ARRAY JOIN is not allowed",
    "WINDOW": "window functions are not supported",
    "QUALIFY": "QUALIFY is not supported",
    "WITH": "WITH is not supported",
}

OPERATORS = ("<=", ">=", "<>", "!=", "||", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", ".", ";")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "\\": "\\", "'": "'", '"': '"', "`": "`"}
# String.prototype.trim's white space and line terminators.
JS_TRIM = "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NUMBER_RE = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
IDENT_PART = IDENT_START | frozenset("0123456789")
DIGITS = frozenset("0123456789")
MAX_SAFE_INTEGER = 2 ** 53 - 1


class SqlError(Exception):
    """A 400 invalid_query, as the control plane's Errors.invalidQuery renders it."""

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = from_units(message)
        self.details = None if details is None else {k: from_units(v) if isinstance(v, str) else v for k, v in details.items()}


def to_units(s: str) -> str:
    """One character per UTF-16 code unit (astral characters become their surrogate pair)."""
    if not s or max(s) <= "\uffff":
        return s
    out = []
    for c in s:
        o = ord(c)
        if o > 0xFFFF:
            o -= 0x10000
            out.append(chr(0xD800 + (o >> 10)))
            out.append(chr(0xDC00 + (o & 0x3FF)))
        else:
            out.append(c)
    return "".join(out)


def from_units(s: str) -> str:
    """Back from code units: surrogate pairs become their character again, lone halves stay."""
    if not s or max(s) < "\ud800":
        return s
    return s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def js_quote_unit(ch: str) -> str:
    """JSON.stringify of a one-code-unit string."""
    special = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    o = ord(ch)
    if ch in special:
        return f'"{special[ch]}"'
    if o < 0x20 or 0xD800 <= o <= 0xDFFF:
        return f'"\\u{o:04x}"'
    return f'"{ch}"'


def js_number(value: float) -> int | float:
    """What JSON.stringify writes: integral values without a fraction (and -0 as 0)."""
    if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
        return int(value)
    return value


def pos(line: int, column: int, offset: int) -> dict[str, int]:
    return {"line": line, "column": column, "offset": offset}


def sql_error(message: str, p: dict[str, int], extra: dict[str, Any] | None = None) -> SqlError:
    return SqlError(f"{message} (line {p['line']}, column {p['column']})", {"line": p["line"], "column": p["column"], **(extra or {})})


class Token:
    __slots__ = ("kind", "text", "upper", "pos")

    def __init__(self, kind: str, text: str, upper: str, p: dict[str, int]):
        self.kind = kind
        self.text = text
        self.upper = upper
        self.pos = p


def tokenize(sql: str) -> list[Token]:
    """sql in code units."""
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlError(f"query text exceeds {MAX_SQL_LENGTH} characters")
    tokens: list[Token] = []
    n = len(sql)
    i = 0
    line = 1
    line_start = 0

    def at(k: int) -> dict[str, int]:
        return pos(line, k - line_start + 1, k)

    while i < n:
        ch = sql[i]
        if ch in " \t\r\n\f":
            if ch == "\n":
                line += 1
                line_start = i + 1
            i += 1
            continue
        if ch == "-" and sql.startswith("-", i + 1):
            nl = sql.find("\n", i)
            i = n if nl == -1 else nl
            continue
        if ch == "/" and sql.startswith("*", i + 1):
            end = sql.find("*/", i + 2)
            if end == -1:
                raise sql_error("unterminated comment", at(i))
            nls = sql.count("\n", i, end + 2)
            if nls:
                line += nls
                line_start = sql.rfind("\n", i, end + 2) + 1
            i = end + 2
            continue
        start = at(i)
        if ch in IDENT_START:
            j = i + 1
            while j < n and sql[j] in IDENT_PART:
                j += 1
            text = sql[i:j]
            tokens.append(Token("ident", text, text.upper(), start))
            i = j
            continue
        if ch in DIGITS or (ch == "." and i + 1 < n and sql[i + 1] in DIGITS):
            text = NUMBER_RE.match(sql[i:i + 400]).group(0)  # type: ignore[union-attr]
            after = i + len(text)
            if after < n and sql[after] in IDENT_START:
                raise sql_error(f"malformed number near '{sql[i:after + 1]}'", start)
            tokens.append(Token("number", text, text, start))
            i = after
            continue
        if ch in "'\"`":
            value, end = read_quoted(sql, i, ch, start)
            tokens.append(Token("string" if ch == "'" else "quoted", value, value.upper(), start))
            nls = sql.count("\n", i, end)
            if nls:
                line += nls
                line_start = sql.rfind("\n", i, end) + 1
            i = end
            continue
        op = next((o for o in OPERATORS if sql.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", "!=" if op == "<>" else op, op, start))
            i += len(op)
            continue
        raise sql_error(f"unexpected character {js_quote_unit(ch)}", start)
    tokens.append(Token("eof", "", "", at(i)))
    return tokens


def read_quoted(sql: str, start: int, quote: str, p: dict[str, int]) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    n = len(sql)
    while i < n:
        ch = sql[i]
        if ch == "\\":
            if i + 1 >= n:
                break
            nxt = sql[i + 1]
            mapped = ESCAPES.get(nxt)
            if mapped is None:
                raise sql_error(f"unsupported escape \\{nxt}", p)
            out.append(mapped)
            i += 2
            continue
        if ch == quote:
            if i + 1 < n and sql[i + 1] == quote:
                out.append(quote)
                i += 2
                continue
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise sql_error("unterminated string literal" if quote == "'" else "unterminated quoted identifier", p)


def describe(t: Token) -> str:
    if t.kind == "eof":
        return "end of query"
    if t.kind == "string":
        return "a string literal"
    if t.kind == "number":
        return f"number {t.text}"
    if t.kind == "ident":
        return f"keyword {t.upper}" if t.upper in RESERVED else f"'{t.text}'"
    return f"'{t.text}'"


def parse_sql(sql: Any) -> dict[str, Any]:
    """The SelectQuery of ``sql`` as the control plane's JSON has it; raises SqlError."""
    if not isinstance(sql, str) or sql.strip(JS_TRIM) == "":
        raise sql_error("empty query", pos(1, 1, 0))
    query = Parser(tokenize(to_units(sql))).parse_statement()
    return _restore(query)


def _restore(v: Any) -> Any:
    """Strings of the AST back from code units."""
    if isinstance(v, str):
        return from_units(v)
    if isinstance(v, dict):
        return {k: _restore(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_restore(x) for x in v]
    return v


class Parser:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    # ---- statement ----

    def parse_statement(self) -> dict[str, Any]:
        first = self.peek()
        if not self.is_keyword(first, "SELECT"):
            if first.kind == "op" and first.text == "(":
                raise sql_error("a parenthesised query is not allowed; start with SELECT", first.pos)
            what = "an empty query" if first.kind == "eof" else f"'{first.text}'"
            raise sql_error(f"only SELECT queries are allowed, got {what}", first.pos, {"near": first.text})
        query = self.parse_select()
        tail = self.peek()
        if tail.kind == "op" and tail.text == ";":
            self.i += 1
            after = self.peek()
            if after.kind != "eof":
                raise sql_error("multiple statements are not allowed", after.pos, {"near": after.text})
            return query
        if tail.kind != "eof":
            self.unexpected(tail)
        return query

    def parse_select(self) -> dict[str, Any]:
        self.expect_keyword("SELECT")
        distinct = self.accept_keyword("DISTINCT")
        if self.is_keyword(self.peek(), "ALL"):
            self.i += 1
        star = False
        items: list[dict[str, Any]] = []
        if self.accept_op("*"):
            star = True
            if self.is_op(self.peek(), ","):
                raise sql_error("* cannot be combined with other select items", self.peek().pos)
        else:
            items.append(self.parse_select_item())
            while self.accept_op(","):
                items.append(self.parse_select_item())
        if not self.is_keyword(self.peek(), "FROM"):
            t = self.peek()
            if t.kind == "eof":
                raise sql_error("FROM is required: a query reads one of your tables", t.pos)
            self.unexpected(t)
        self.i += 1
        frm = self.parse_table_ref()
        joins = []
        while True:
            j = self.parse_join()
            if j is None:
                break
            joins.append(j)
        query: dict[str, Any] = {"kind": "select", "distinct": distinct, "star": star, "items": items, "from": frm,
                                 "joins": joins, "groupBy": [], "orderBy": []}
        if self.accept_keyword("WHERE"):
            query["where"] = self.parse_expr()
        if self.accept_keyword("GROUP"):
            self.expect_keyword("BY")
            query["groupBy"].append(self.parse_expr())
            while self.accept_op(","):
                query["groupBy"].append(self.parse_expr())
        if self.accept_keyword("HAVING"):
            query["having"] = self.parse_expr()
        if self.accept_keyword("ORDER"):
            self.expect_keyword("BY")
            query["orderBy"].append(self.parse_order_item())
            while self.accept_op(","):
                query["orderBy"].append(self.parse_order_item())
        if self.accept_keyword("LIMIT"):
            first = self.parse_count("LIMIT")
            if self.accept_op(","):
                query["offset"] = first
                query["limit"] = self.parse_count("LIMIT")
            else:
                query["limit"] = first
                if self.accept_keyword("OFFSET"):
                    query["offset"] = self.parse_count("OFFSET")
        elif self.accept_keyword("OFFSET"):
            query["offset"] = self.parse_count("OFFSET")
        return query

    def parse_select_item(self) -> dict[str, Any]:
        p = self.peek().pos
        expr = self.parse_expr()
        alias = self.parse_alias()
        return {"expr": expr, "pos": p} if alias is None else {"expr": expr, "alias": alias, "pos": p}

    def parse_alias(self) -> str | None:
        if self.accept_keyword("AS"):
            return self.expect_name("an alias")
        t = self.peek()
        if t.kind == "quoted" or (t.kind == "ident" and t.upper not in RESERVED):
            self.i += 1
            return t.text
        return None

    def parse_table_ref(self) -> dict[str, Any]:
        t = self.peek()
        if self.is_op(t, "("):
            nxt = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if nxt is not None and self.is_keyword(nxt, "SELECT"):
                raise sql_error("subqueries are not allowed", t.pos)
            raise sql_error("expected a table name", t.pos)
        if t.kind not in ("ident", "quoted"):
            raise sql_error(f"expected a table name, got {describe(t)}", t.pos)
        if t.kind == "ident" and t.upper in RESERVED:
            raise sql_error(f"expected a table name, got keyword {t.upper}", t.pos)
        self.i += 1
        after = self.peek()
        if self.is_op(after, "."):
            raise sql_error(f"database-qualified table names are not allowed ('{t.text}.…'); name one of your own tables", t.pos)
        if self.is_op(after, "("):
            raise sql_error(f"table functions are not allowed ('{t.text}(…)')", t.pos)
        alias = self.parse_alias()
        if self.is_keyword(self.peek(), "FINAL"):
            raise sql_error(REFUSED_TAIL["FINAL"], self.peek().pos)
        return {"table": t.text, "pos": t.pos} if alias is None else {"table": t.text, "alias": alias, "pos": t.pos}

    def parse_join(self) -> dict[str, Any] | None:
        t = self.peek()
        if t.kind != "ident":
            if self.is_op(t, ","):
                raise sql_error("comma joins are not supported; use INNER JOIN … ON", t.pos)
            return None
        if t.upper == "JOIN":
            kind = "inner"
            self.i += 1
        elif t.upper == "INNER":
            self.i += 1
            self.expect_keyword("JOIN")
            kind = "inner"
        elif t.upper == "LEFT":
            self.i += 1
            self.accept_keyword("OUTER")
            self.expect_keyword("JOIN")
            kind = "left"
        elif t.upper in ("RIGHT", "FULL", "CROSS", "GLOBAL", "ANY", "ALL", "ASOF", "SEMI", "ANTI", "PASTE", "OUTER"):
            raise sql_error(f"{t.upper} JOIN is not supported; use INNER JOIN or LEFT JOIN", t.pos)
        elif t.upper == "ARRAY":
            raise sql_error(REFUSED_TAIL["ARRAY"], t.pos)
        else:
            return None
        table = self.parse_table_ref()
        if self.is_keyword(self.peek(), "USING"):
            raise sql_error("JOIN … USING is not supported; use ON", self.peek().pos)
        self.expect_keyword("ON")
        on = self.parse_expr()
        return {"type": kind, "table": table, "on": on, "pos": t.pos}

    def parse_order_item(self) -> dict[str, Any]:
        p = self.peek().pos
        expr = self.parse_expr()
        desc = False
        if self.accept_keyword("DESC"):
            desc = True
        else:
            self.accept_keyword("ASC")
        if self.is_keyword(self.peek(), "NULLS"):
            raise sql_error("NULLS FIRST/LAST is not supported", self.peek().pos)
        return {"expr": expr, "desc": desc, "pos": p}

    def parse_count(self, clause: str) -> int:
        t = self.peek()
        if t.kind != "number" or not t.text.isdigit() or not t.text.isascii():
            raise sql_error(f"{clause} needs a non-negative integer, got {describe(t)}", t.pos)
        n = float(t.text)
        if n > MAX_SAFE_INTEGER:
            raise sql_error(f"{clause} {t.text} is out of range", t.pos)
        self.i += 1
        return int(n)

    # ---- expressions, lowest precedence first ----

    def parse_expr(self) -> dict[str, Any]:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise sql_error(f"expression nests deeper than {MAX_DEPTH} levels", self.peek().pos)
            return self.parse_or()
        finally:
            self.depth -= 1

    def parse_or(self) -> dict[str, Any]:
        left = self.parse_and()
        while self.is_keyword(self.peek(), "OR"):
            p = self.next().pos
            left = {"kind": "binary", "op": "or", "left": left, "right": self.parse_and(), "pos": p}
        return left

    def parse_and(self) -> dict[str, Any]:
        left = self.parse_not()
        while self.is_keyword(self.peek(), "AND"):
            p = self.next().pos
            left = {"kind": "binary", "op": "and", "left": left, "right": self.parse_not(), "pos": p}
        return left

    def parse_not(self) -> dict[str, Any]:
        if self.is_keyword(self.peek(), "NOT"):
            p = self.next().pos
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise sql_error(f"expression nests deeper than {MAX_DEPTH} levels", p)
                return {"kind": "unary", "op": "not", "operand": self.parse_not(), "pos": p}
            finally:
                self.depth -= 1
        return self.parse_predicate()

    def parse_predicate(self) -> dict[str, Any]:
        left = self.parse_additive()
        t = self.peek()
        if t.kind == "op" and t.text in ("=", "!=", "<", "<=", ">", ">="):
            self.i += 1
            return {"kind": "binary", "op": t.text, "left": left, "right": self.parse_additive(), "pos": t.pos}
        if t.kind != "ident":
            return left
        negated = False
        if t.upper == "NOT":
            n = self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
            if n is not None and n.kind == "ident" and n.upper in ("IN", "BETWEEN", "LIKE", "ILIKE"):
                negated = True
                self.i += 1
            else:
                return left
        op = self.peek()
        if op.upper == "IN":
            self.i += 1
            opening = self.peek()
            self.expect_op("(")
            if self.is_keyword(self.peek(), "SELECT"):
                raise sql_error("subqueries are not allowed", self.peek().pos)
            if self.is_op(self.peek(), ")"):
                raise sql_error("IN needs at least one value", opening.pos)
            items = [self.parse_additive()]
            while self.accept_op(","):
                items.append(self.parse_additive())
            self.expect_op(")")
            return {"kind": "in", "expr": left, "list": items, "negated": negated, "pos": op.pos}
        if op.upper == "BETWEEN":
            self.i += 1
            low = self.parse_additive()
            self.expect_keyword("AND")
            high = self.parse_additive()
            return {"kind": "between", "expr": left, "low": low, "high": high, "negated": negated, "pos": op.pos}
        if op.upper in ("LIKE", "ILIKE"):
            self.i += 1
            return {"kind": "like", "expr": left, "pattern": self.parse_additive(), "negated": negated,
                    "caseInsensitive": op.upper == "ILIKE", "pos": op.pos}
        if op.upper == "IS":
            self.i += 1
            neg = self.accept_keyword("NOT")
            self.expect_keyword("NULL")
            return {"kind": "isNull", "expr": left, "negated": neg, "pos": op.pos}
        return left

    def parse_additive(self) -> dict[str, Any]:
        left = self.parse_multiplicative()
        while True:
            t = self.peek()
            if t.kind != "op" or t.text not in ("+", "-", "||"):
                return left
            self.i += 1
            left = {"kind": "binary", "op": t.text, "left": left, "right": self.parse_multiplicative(), "pos": t.pos}

    def parse_multiplicative(self) -> dict[str, Any]:
        left = self.parse_unary()
        while True:
            t = self.peek()
            if t.kind != "op" or t.text not in ("*", "/", "%"):
                return left
            self.i += 1
            left = {"kind": "binary", "op": t.text, "left": left, "right": self.parse_unary(), "pos": t.pos}

    def parse_unary(self) -> dict[str, Any]:
        t = self.peek()
        if self.is_op(t, "-") or self.is_op(t, "+"):
            self.i += 1
            self.depth += 1
            try:
                if self.depth > MAX_DEPTH:
                    raise sql_error(f"expression nests deeper than {MAX_DEPTH} levels", t.pos)
                operand = self.parse_unary()
                if t.text == "+":
                    return operand
                if operand["kind"] == "literal" and type(operand["value"]) in (int, float):
                    return {**operand, "value": js_number(-float(operand["value"])), "pos": t.pos}
                return {"kind": "unary", "op": "-", "operand": operand, "pos": t.pos}
            finally:
                self.depth -= 1
        return self.parse_primary()

    def parse_primary(self) -> dict[str, Any]:
        t = self.next()
        if t.kind == "number":
            value = float(t.text)
            if value in (float("inf"), float("-inf")):
                raise sql_error(f"number {t.text} is out of range", t.pos)
            if t.text.isdigit() and value > MAX_SAFE_INTEGER:
                raise sql_error(f"integer {t.text} is out of range", t.pos)
            return {"kind": "literal", "value": js_number(value), "pos": t.pos}
        if t.kind == "string":
            return {"kind": "literal", "value": t.text, "pos": t.pos}
        if t.kind == "op":
            if t.text == "(":
                if self.is_keyword(self.peek(), "SELECT"):
                    raise sql_error("subqueries are not allowed", self.peek().pos)
                inner = self.parse_expr()
                self.expect_op(")")
                return inner
            if t.text == "*":
                raise sql_error("* is only allowed as SELECT * or count(*)", t.pos)
            raise sql_error(f"unexpected {describe(t)}", t.pos, {"near": t.text})
        if t.kind == "eof":
            raise sql_error("unexpected end of query", t.pos)
        if t.kind == "quoted":
            return self.parse_name_rest(t)
        u = t.upper
        if u == "NULL":
            return {"kind": "literal", "value": None, "pos": t.pos}
        if u == "TRUE":
            return {"kind": "literal", "value": True, "pos": t.pos}
        if u == "FALSE":
            return {"kind": "literal", "value": False, "pos": t.pos}
        if u == "CASE":
            return self.parse_case(t.pos)
        if u in ("TIMESTAMP", "DATE"):
            s = self.peek()
            if s.kind == "string":
                self.i += 1
                return {"kind": "typed", "type": "date" if u == "DATE" else "timestamp", "value": s.text, "pos": t.pos}
        elif u == "INTERVAL":
            raise sql_error("INTERVAL is not supported; compare ts_ms with TIMESTAMP literals", t.pos)
        elif u == "SELECT":
            raise sql_error("subqueries are not allowed", t.pos)
        else:
            if u in REFUSED_TAIL:
                raise sql_error(REFUSED_TAIL[u], t.pos)
            if u in RESERVED:
                raise sql_error(f"unexpected keyword {u}", t.pos, {"near": t.text})
        return self.parse_name_rest(t)

    def parse_name_rest(self, t: Token) -> dict[str, Any]:
        """After an identifier: a function call, a qualified column or a plain column."""
        if self.is_op(self.peek(), "("):
            if t.kind == "quoted":
                raise sql_error("function names cannot be quoted", t.pos)
            self.i += 1
            return self.parse_call(t)
        if self.accept_op("."):
            col = self.next()
            if self.is_op(col, "*"):
                raise sql_error(f"{t.text}.* is not supported; use * or name the columns", col.pos)
            if col.kind not in ("ident", "quoted"):
                raise sql_error(f"expected a column name after '{t.text}.'", col.pos)
            if self.is_op(self.peek(), "."):
                raise sql_error("database-qualified names are not allowed", t.pos)
            if self.is_op(self.peek(), "("):
                raise sql_error("qualified function names are not allowed", t.pos)
            return {"kind": "column", "table": t.text, "name": col.text, "pos": t.pos}
        return {"kind": "column", "name": t.text, "pos": t.pos}

    def parse_call(self, name_tok: Token) -> dict[str, Any]:
        name = name_tok.text.lower()
        if self.is_keyword(self.peek(), "SELECT"):
            raise sql_error("subqueries are not allowed", self.peek().pos)
        distinct = self.accept_keyword("DISTINCT")
        args: list[dict[str, Any]] = []
        if self.is_op(self.peek(), "*"):
            star = self.next()
            args.append({"kind": "star", "pos": star.pos})
        elif not self.is_op(self.peek(), ")"):
            args.append(self.parse_expr())
            while self.accept_op(","):
                args.append(self.parse_expr())
        self.expect_op(")")
        if self.is_keyword(self.peek(), "OVER"):
            raise sql_error("window functions are not supported", self.peek().pos)
        return {"kind": "call", "name": name, "args": args, "distinct": distinct, "pos": name_tok.pos}

    def parse_case(self, p: dict[str, int]) -> dict[str, Any]:
        whens = []
        if not self.is_keyword(self.peek(), "WHEN"):
            raise sql_error("only searched CASE WHEN … THEN … is supported", self.peek().pos)
        while self.accept_keyword("WHEN"):
            when = self.parse_expr()
            self.expect_keyword("THEN")
            whens.append({"when": when, "then": self.parse_expr()})
        out: dict[str, Any] = {"kind": "case", "whens": whens, "pos": p}
        if self.accept_keyword("ELSE"):
            out["else"] = self.parse_expr()
        self.expect_keyword("END")
        return out

    # ---- token helpers ----

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    @staticmethod
    def is_keyword(t: Token, kw: str) -> bool:
        return t.kind == "ident" and t.upper == kw

    @staticmethod
    def is_op(t: Token, op: str) -> bool:
        return t.kind == "op" and t.text == op

    def accept_keyword(self, kw: str) -> bool:
        if not self.is_keyword(self.peek(), kw):
            return False
        self.i += 1
        return True

    def accept_op(self, op: str) -> bool:
        if not self.is_op(self.peek(), op):
            return False
        self.i += 1
        return True

    def expect_keyword(self, kw: str) -> None:
        t = self.peek()
        if not self.is_keyword(t, kw):
            if t.kind == "ident" and t.upper in REFUSED_TAIL:
                raise sql_error(REFUSED_TAIL[t.upper], t.pos)
            raise sql_error(f"expected {kw}, got {describe(t)}", t.pos, {"near": t.text})
        self.i += 1

    def expect_op(self, op: str) -> None:
        t = self.peek()
        if not self.is_op(t, op):
            raise sql_error(f"expected '{op}', got {describe(t)}", t.pos, {"near": t.text})
        self.i += 1

    def expect_name(self, what: str) -> str:
        t = self.peek()
        if t.kind == "quoted" or (t.kind == "ident" and t.upper not in RESERVED):
            self.i += 1
            return t.text
        raise sql_error(f"expected {what}, got {describe(t)}", t.pos)

    def unexpected(self, t: Token) -> None:
        if t.kind == "ident" and t.upper in REFUSED_TAIL:
            raise sql_error(REFUSED_TAIL[t.upper], t.pos)
        if self.is_op(t, ";"):
            raise sql_error("multiple statements are not allowed", t.pos)
        raise sql_error(f"unexpected {describe(t)}", t.pos, {"near": t.text})
