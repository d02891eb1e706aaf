"""Read-only SQL against the published warehouse, for `journeys query` and Python callers.

Read-only is enforced by DuckDB itself (warehouse.reader: the published file opened read-only,
external file access off, extensions off, configuration locked), so no statement however wrapped
(EXPLAIN ANALYZE COPY, PRAGMA, SET, IMPORT/EXPORT DATABASE, ATTACH, read_csv of any path) can write
a file, read one outside the warehouse, or turn the protections off. The statement-type check below
only gives a friendlier message first; nothing relies on it.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from journeys import warehouse
from journeys.settings import Settings

READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "SET", "VARIABLE_SET", "RELATION", "LOGICAL_PLAN"}


class WriteRefusedError(PermissionError):
    pass


def run_query(settings: Settings, sql: str) -> pd.DataFrame:
    """Runs one or more read-only statements on the published copy; returns the last result."""
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
        result = None
        for statement in statements:
            result = con.execute(statement)
        return result.df() if result is not None and result.description else pd.DataFrame()
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
    if fmt == "csv":
        return frame.to_csv(index=False)
    if fmt == "json":
        return frame.to_json(orient="records", date_format="iso", indent=2)
    with pd.option_context("display.max_rows", 200, "display.max_columns", 50, "display.width", 200):
        return frame.to_string(index=False) if len(frame) else "(no rows)"
