"""Read-only SQL against the published warehouse, for `journeys query` and Python callers.

Read-only is enforced by DuckDB itself (warehouse.reader: the published file opened read-only,
external file access off, extensions off, configuration locked), so no statement however wrapped
(EXPLAIN ANALYZE COPY, PRAGMA, SET, IMPORT/EXPORT DATABASE, ATTACH, read_csv of any path) can write
a file, read one outside the warehouse, or turn the protections off. The statement-type check below
only gives a friendlier message first; nothing relies on it.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from journeys import warehouse
from journeys.settings import Settings

READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET", "RELATION", "LOGICAL_PLAN"}


class WriteRefusedError(PermissionError):
    pass


def run_query(settings: Settings, sql: str) -> pd.DataFrame:
    """Runs one or more read-only statements on the published copy; returns the last result.

    The frame keeps DuckDB's types exactly (pandas ArrowDtype columns, by way of Arrow): decimals and
    HUGEINTs as decimals, integers with NULLs as integers, NULL apart from a double's NaN,
    microsecond timestamps, lists, structs and maps as nested values. DuckDB's own `.df()` turns
    decimals into doubles and NULL doubles into NaN, which `journeys query` could not print back exactly.
    """
    con = warehouse.reader(settings)
    try:
        statements = con.extract_statements(sql)
        for statement in statements:
            kind = statement.type.name
            if kind not in READ_ONLY_STATEMENTS:
                raise WriteRefusedError(
                    f"refused: `journeys query` is read-only and this is a {kind} statement. The published "
                    "warehouse is rebuilt by `journeys build` / `journeys ingest`; write to your own DuckDB file instead."
                )
        for statement in statements[:-1]:
            con.execute(statement)
        # The last one through con.sql: Arrow from a relation is one copy, from execute() two (and a warning).
        last = con.sql(statements[-1]) if statements else None
        table = last.to_arrow_table() if last is not None else None
        if table is None or not table.num_columns:
            return pd.DataFrame()
        return table.to_pandas(types_mapper=pd.ArrowDtype)
    except duckdb.PermissionException as exc:
        raise WriteRefusedError(f"refused: `journeys query` is read-only and cannot touch files or extensions "
                                f"({_first_line(exc)})") from None
    except duckdb.Error as exc:
        text = str(exc).lower()
        if "read-only" in text or "configuration has been locked" in text:
            raise WriteRefusedError(f"refused: the published warehouse is read-only and its session settings are "
                                    f"locked ({_first_line(exc)})") from None
        raise
    finally:
        con.close()


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def format_frame(frame: pd.DataFrame, fmt: str) -> str:
    """The frame as `table`, `csv` or `json` text, without a final newline (print adds the one).

    - csv: a header, then one line per row; a field is quoted when it holds a comma, a quote or a
      line break, and an empty string is `""` while NULL is an empty field (as DuckDB's COPY), so
      Python's `csv` module reads back exactly the text written. Lists, structs and maps are JSON
      text; timestamps `2025-01-02 03:04:05.123456` (tz-aware ones in UTC, `+00:00`); decimals and
      integers as exact digits, doubles as their shortest round-trip text (`nan`, `inf`, `-inf`).
    - table: the same texts in aligned columns, NULL shown as `NULL`.
    - json: an array of one object per row. Lists are arrays, structs and maps objects, NULL is
      null, timestamps ISO-8601 UTC with microseconds and `Z` (the warehouse's timestamps are UTC),
      decimals exact numbers. JSON has no NaN or infinity: those doubles are null, as JavaScript's
      JSON.stringify writes them (use `isnan(x)` in the SQL to tell them apart from NULL).

    NULL is a column's missing value: None, pandas' NA and NaT, and NaN in a numpy float column
    (pandas' own NULL there). Frames from `run_query` keep NULL and a double's NaN apart.
    """
    names = [str(c) for c in frame.columns]
    rows = list(zip(*(_values(frame.iloc[:, i]) for i in range(frame.shape[1]))))
    if fmt == "csv":
        lines = [",".join(_csv_field(name) for name in names)]
        lines += [",".join(_csv_field(None if v is None else _text(v)) for v in row) for row in rows]
        return "\n".join(lines)
    if fmt == "json":
        keys = [json.dumps(name, ensure_ascii=False) for name in names]
        objects = ["  {" + ", ".join(f"{k}: {_json(v)}" for k, v in zip(keys, row)) + "}" for row in rows]
        return "[\n" + ",\n".join(objects) + "\n]" if objects else "[]"
    if not rows:
        return "(no rows)"
    shown = pd.DataFrame([["NULL" if v is None else _text(v) for v in row] for row in rows], dtype=object)
    shown.columns = names
    return shown.to_string(index=False)


# ---- values: a column's cells as plain Python values, None for NULL --------------------------------

def _values(column: pd.Series) -> list:
    if isinstance(column.dtype, pd.ArrowDtype):  # run_query's frames: Arrow knows NULL from NaN
        return pa.array(column).to_pylist(maps_as_pydicts="strict")
    return [_plain(v) for v in column.astype(object)]


def _plain(value):
    """A pandas/numpy cell as a Python value; pandas' missing markers (NaN, NaT, NA) as None."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


# ---- texts ---------------------------------------------------------------------------------------

def _csv_field(text: str | None) -> str:
    if text is None:
        return ""
    if text == "" or any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _text(value) -> str:
    """A non-NULL value as CSV and table text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else {math.inf: "inf", -math.inf: "-inf"}.get(value, "nan")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat(sep=" ")  # pd.Timestamp: nanoseconds too, when it has them
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (dt.timedelta, pa.MonthDayNano)):  # before tuple: MonthDayNano is a named tuple
        return _duration(value)
    if isinstance(value, (list, tuple, dict)):
        return _json(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _blob(bytes(value))
    return str(value)


def _json(value) -> str:
    """A value as JSON text (None is null)."""
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        nanos = f"{utc.nanosecond % 1000:03d}" if isinstance(utc, pd.Timestamp) and utc.nanosecond else ""
        return f'"{utc:%Y-%m-%dT%H:%M:%S.%f}{nanos}Z"'
    if isinstance(value, dt.time):
        return f'"{value.isoformat(timespec="microseconds")}"'
    if isinstance(value, (list, tuple)) and not isinstance(value, pa.MonthDayNano):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k if isinstance(k, str) else _text(k), ensure_ascii=False)}: {_json(v)}"
                               for k, v in value.items()) + "}"
    return json.dumps(_text(value), ensure_ascii=False)


def _duration(value: dt.timedelta | pa.MonthDayNano) -> str:
    """ISO-8601: P1M2DT3H4M5.5S (DuckDB intervals keep months and days apart from time)."""
    if isinstance(value, dt.timedelta):
        if value < dt.timedelta(0):
            return "-" + _duration(-value)
        months, days, nanos = 0, value.days, (value.seconds * 10**6 + value.microseconds) * 1000
        nanos += getattr(value, "nanoseconds", 0)  # pd.Timedelta's below the microsecond
    else:
        months, days, nanos = value.months, value.days, value.nanoseconds
    sign, nanos = ("-", -nanos) if nanos < 0 else ("", nanos)
    hours, rest = divmod(nanos, 3600 * 10**9)
    minutes, rest = divmod(rest, 60 * 10**9)
    seconds = f"{rest // 10**9}" + (f".{rest % 10**9:09d}".rstrip("0") if rest % 10**9 else "")
    date = (f"{months}M" if months else "") + (f"{days}D" if days else "")
    time = "".join(f"{sign}{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M")) if n)
    time += f"{sign}{seconds}S" if rest else ""
    return f"P{date}" + (f"T{time}" if time else "" if date else "T0S")


def _blob(data: bytes) -> str:
    """As DuckDB writes a BLOB: printable ASCII as itself, every other byte as \\xNN."""
    return "".join(chr(b) if 32 <= b < 127 and b != 92 else f"\\x{b:02X}" for b in data)
