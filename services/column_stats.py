"""Column statistics of a table from a sample of its records (the column-stats job).

For every column of the sample (``data_id``, the time columns ``ts_ms`` and
``date`` derived from ``timestamp``, and each top-level payload field): the
fraction of rows where it is null or absent, min and max, the number of
distinct values (exact on the sample, and an estimate for the whole table:
Haas and Stokes' Duj1, the estimator PostgreSQL uses), the most common values
with their frequencies, and for numeric and time columns an equi-depth
histogram (bounds with as many sampled values between each pair). The control
plane's optimizer uses the most common values for equality and IN, and the
histogram for ranges (src/query/cbo/selectivity.ts).

Frequencies are fractions of all sampled rows, nulls included, so they are
selectivities as they stand.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Iterable

MAX_MCV = 32
MAX_BUCKETS = 32
MAX_VALUE_CHARS = 1024
DAY_MS = 86_400_000


def _epoch_ms(iso: Any) -> int | None:
    if not isinstance(iso, str):
        return None
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return int(round(t.timestamp() * 1000))


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms // DAY_MS * DAY_MS / 1000, tz=timezone.utc).strftime("%Y-%m-%d")


def _kind(values: Iterable[Any]) -> str:
    kinds = set()
    for v in values:
        if isinstance(v, bool):
            kinds.add("bool")
        elif isinstance(v, (int, float)):
            kinds.add("numeric")
        elif isinstance(v, str):
            kinds.add("string")
        else:
            kinds.add("json")
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "empty")


def _key(v: Any) -> Any:
    """A hashable identity of a JSON value: 1 and 1.0 are one value, true and 1 are not."""
    if isinstance(v, bool):
        return ("b", v)
    if isinstance(v, (int, float)):
        return ("n", float(v))
    if isinstance(v, str):
        return ("s", v)
    return ("j", json.dumps(v, sort_keys=True, separators=(",", ":")))


def _scalar(v: Any) -> Any:
    """An integral float as an int, so JSON says 10, not 10.0."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2 ** 53:
        return int(v)
    return v


def estimate_distinct(d: int, f1: int, n: int, total: float | None) -> float:
    """Duj1: n*d / (n - f1 + f1*n/N), between d and N; d when the sample is the table or nothing was seen once."""
    if total is None or n == 0 or n >= total or f1 == 0:
        return float(d)
    est = n * d / (n - f1 + f1 * n / total)
    return float(min(max(est, d), total))


def equi_depth(sorted_values: list[float], buckets: int) -> list[float]:
    """buckets + 1 bounds: the 0th, 1/b-th, … quantile of the sorted values."""
    m = len(sorted_values)
    return [sorted_values[min(m - 1, round(i * (m - 1) / buckets))] for i in range(buckets + 1)]


def stat_of(values: list[Any], n_rows: int, table_rows: int | None, kind: str | None = None,
            numeric_of: Any = None) -> dict[str, Any]:
    """Statistics of one column: `values` holds its non-null values (one per sampled row that has it)."""
    kind = kind or _kind(values)
    counts = Counter(_key(v) for v in values)
    first: dict[Any, Any] = {}
    for v in values:
        first.setdefault(_key(v), v)
    non_null = len(values)
    d = len(counts)
    f1 = sum(1 for c in counts.values() if c == 1)
    null_fraction = (n_rows - non_null) / n_rows if n_rows else 0.0
    total_non_null = None if table_rows is None else table_rows * (1 - null_fraction)
    d_est = estimate_distinct(d, f1, non_null, total_non_null)
    stat: dict[str, Any] = {"kind": kind, "distinct": d, "distinctEstimate": round(d_est, 3), "nullFraction": null_fraction}

    if kind in ("numeric", "time", "string") and non_null:
        ordered = sorted(values) if kind != "time" else sorted(values, key=numeric_of)
        lo, hi = ordered[0], ordered[-1]
        if not (isinstance(lo, str) and (len(lo) > MAX_VALUE_CHARS or len(hi) > MAX_VALUE_CHARS)):
            stat["min"], stat["max"] = _scalar(lo), _scalar(hi)

    if kind != "json" and non_null:
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], repr(kv[0])))
        complete = d <= MAX_MCV and d_est <= d
        if complete:
            chosen = ranked
        else:
            # Common means clearly more frequent than the average value (PostgreSQL's rule of thumb), and seen twice.
            average = non_null / max(1, d_est)
            chosen = [kv for kv in ranked[:MAX_MCV] if kv[1] >= 2 and kv[1] > 1.25 * average]
        mcv = [{"value": _scalar(first[k]), "frequency": c / n_rows} for k, c in chosen
               if not (isinstance(first[k], str) and len(first[k]) > MAX_VALUE_CHARS)]
        if mcv:
            stat["mcv"] = mcv

    if kind in ("numeric", "time") and d >= 2:
        nums = sorted(float(numeric_of(v)) if numeric_of else float(v) for v in values)
        buckets = min(MAX_BUCKETS, d, non_null - 1)
        stat["histogram"] = {"bounds": [_scalar(b) for b in equi_depth(nums, buckets)]}
    return stat


def column_stats(records: list[dict[str, Any]], table_rows: int | None = None) -> dict[str, Any]:
    """The column-stats job's result for a sample of API records ({data_id, timestamp, lsn, payload})."""
    n = len(records)
    data_ids: list[Any] = []
    ts: list[int] = []
    fields: dict[str, list[Any]] = {}
    for r in records:
        if r.get("data_id") is not None:
            data_ids.append(r["data_id"])
        ms = _epoch_ms(r.get("timestamp"))
        if ms is not None:
            ts.append(ms)
        payload = r.get("payload")
        if isinstance(payload, dict):
            for k, v in payload.items():
                lst = fields.setdefault(k, [])
                if v is not None:
                    lst.append(v)
    columns: dict[str, Any] = {}
    if n:
        columns["data_id"] = stat_of(data_ids, n, table_rows)
        columns["ts_ms"] = stat_of(ts, n, table_rows, kind="time", numeric_of=float)
        columns["date"] = stat_of([_day(ms) for ms in ts], n, table_rows, kind="time",
                                  numeric_of=lambda day: datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp() * 1000)
    for k, values in fields.items():
        if k in columns or not k or len(k) > 256:
            continue
        columns[k] = stat_of(values, n, table_rows)
    result: dict[str, Any] = {"columns": columns, "sampledRows": n}
    if table_rows is not None:
        result["tableRows"] = table_rows
    return result

