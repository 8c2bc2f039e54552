"""POST /parse/sql as the control plane answers it (src/services/query-interpreter).

The body is checked the way the control plane's schema checks it
(``sqlBody``: an object with ``sql`` or its alias ``query``, strings of at most
65536 code points, no other keys; zod's messages), then parsed by the
port of the control plane's parser (sql_parser.py). Status and JSON are the
control plane's for every input the control plane forwards; the contract suite
checks it.
"""
from __future__ import annotations

import json
import re
from typing import Any

from sql_parser import MAX_SQL_LENGTH, SqlError, parse_sql

SQL_ALIAS_CONFLICT = 'give "sql" or its alias "query", not both'
SQL_MISSING = 'required: the SELECT to parse (or its alias "query")'
ARRAY_INDEX = re.compile(r"0|[1-9][0-9]*")


class Answer(Exception):
    """An error answer: status and the control plane's {code, message, details?}."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self, request_id: str) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "requestId": request_id}
        if self.details is not None:
            err["details"] = self.details
        return {"error": err}


def js_type(v: Any) -> str:
    """zod's name for the type of a JSON value."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def js_key_order(d: dict[str, Any]) -> list[str]:
    """Keys in the order a JavaScript object lists them: array indices first, ascending, then insertion order."""
    index = sorted((k for k in d if ARRAY_INDEX.fullmatch(k) and int(k) < 2 ** 32 - 1), key=int)
    seen = set(index)
    return index + [k for k in d if k not in seen]


def validation_failed(issues: list[tuple[str, str]]) -> Answer:
    """A ZodError as the control plane's error handler renders it."""
    path, message = issues[0]
    return Answer(400, "validation_failed", f"{path}: {message}" if path else message,
                  {"issues": [{"path": p, "message": m} for p, m in issues[:20]]})


def json_body(raw: bytes) -> Any:
    """The request body as express.json (strict) reads it: an object or array; empty is {}."""
    text = raw.decode("utf-8", "replace")
    stripped = text.lstrip(" \t\n\r")
    if stripped == "":
        return {}
    if stripped[0] not in "{[":
        raise Answer(400, "invalid_json", "malformed JSON: the body must be a JSON object or array")

    def refuse_constant(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, parse_constant=refuse_constant)
    except ValueError as err:
        raise Answer(400, "invalid_json", f"malformed JSON: {err}") from None


def sql_text_of(body: Any) -> str:
    issues: list[tuple[str, str]] = []
    if not isinstance(body, dict):
        raise validation_failed([("", f"Invalid input: expected object, received {js_type(body)}")])
    for key in ("sql", "query"):
        if key not in body:
            continue
        v = body[key]
        if not isinstance(v, str):
            issues.append((key, f"Invalid input: expected string, received {js_type(v)}"))
        elif len(v) > MAX_SQL_LENGTH:  # zod counts code points (the lexer's own limit counts UTF-16 units)
            issues.append((key, f"Too big: expected string to have <={MAX_SQL_LENGTH} characters"))
    unknown = [k for k in js_key_order(body) if k not in ("sql", "query")]
    if unknown:
        listed = ", ".join(f'"{k}"' for k in unknown)
        issues.append(("", f"Unrecognized key{'s' if len(unknown) > 1 else ''}: {listed}"))
    if issues:
        raise validation_failed(issues)
    if "sql" in body and "query" in body:
        raise validation_failed([("query", SQL_ALIAS_CONFLICT)])
    text = body.get("sql", body.get("query"))
    if text is None:
        raise validation_failed([("sql", SQL_MISSING)])
    return text


def parse_sql_route(raw_body: bytes) -> tuple[int, dict[str, Any]] | Answer:
    """200 {ast} or the Answer the control plane would give."""
    try:
        sql = sql_text_of(json_body(raw_body))
        return 200, {"ast": parse_sql(sql)}
    except SqlError as err:
        return Answer(400, "invalid_query", err.message, err.details)
    except Answer as answer:
        return answer
