"""Runs SQL models: one `.sql` file per table, under `sql/<layer>/<table>.sql`.

A model file is a single SELECT (import CTEs, logic CTEs, `select * from final`) preceded by
a header that documents it; the header becomes DuckDB table and column comments, so
`journeys tables`, the DuckDB CLI and BI tools all show the same descriptions:

    -- One row per journey: a person's touchpoints with no gap longer than journey_gap_days.
    -- The reason ... (more lines of table description)
    -- columns:
    --   journey_id: deterministic id, md5 of person_id and started_at
    --   person_id: ...

Settings are passed as DuckDB named parameters (`$journey_gap_days`). Each table is replaced
in one transaction, so a failed model leaves the previous version in place and rebuilding
twice gives the same table.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

SQL_DIR = Path(__file__).resolve().parent / "sql"
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Model:
    """One warehouse table in a build list: what it reads and how it is built. The CLI builds the
    list in order and Dagster makes one asset of each, so both run the same functions."""

    qualified: str
    """`layer.table`: the table and, as [layer, table], the Dagster asset key."""
    deps: tuple[str, ...]
    """Tables it reads (`raw.touchpoints` is the ingest's)."""
    build: Callable[[duckdb.DuckDBPyConnection, object], int]
    """`build(con, settings)` replaces the table and returns its row count."""


@dataclass(frozen=True)
class ModelDoc:
    description: str
    columns: dict[str, str]


def parse_doc(text: str) -> ModelDoc:
    """Reads a model's leading `--` comment block (or a docstring in the same format, without `--`)."""
    lines = text.strip().splitlines()
    if lines and lines[0].lstrip().startswith("--"):
        lines = [l.strip()[2:] for l in lines[: next((i for i, l in enumerate(lines) if not l.strip().startswith("--")), len(lines))]]
    description: list[str] = []
    columns: dict[str, str] = {}
    in_columns = False
    for line in (l.strip() for l in lines):
        if line.lower() == "columns:":
            in_columns = True
        elif in_columns and ":" in line:
            name, _, desc = line.partition(":")
            columns[name.strip()] = desc.strip()
        elif line and not in_columns:
            description.append(line)
    return ModelDoc(" ".join(description), columns)


def model_path(qualified: str) -> Path:
    layer, name = qualified.split(".")
    return SQL_DIR / layer / f"{name}.sql"


def model_sql(qualified: str) -> str:
    return model_path(qualified).read_text()


def bind(sql: str, params: dict) -> dict:
    """Only the parameters the SQL names: DuckDB refuses extras."""
    wanted = set(_PARAM.findall(sql))
    missing = wanted - set(params)
    if missing:
        raise KeyError(f"SQL needs parameters {sorted(missing)} that were not given")
    return {k: v for k, v in params.items() if k in wanted}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_doc(con: duckdb.DuckDBPyConnection, qualified: str, doc: ModelDoc) -> None:
    if doc.description:
        con.execute(f"comment on table {qualified} is {_quote(doc.description)}")
    existing = {r[0] for r in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        qualified.split("."),
    ).fetchall()}
    for column, text in doc.columns.items():
        if column in existing:
            con.execute(f'comment on column {qualified}."{column}" is {_quote(text)}')


def replace_table(con: duckdb.DuckDBPyConnection, qualified: str, select_sql: str, params: dict | None = None,
                  doc: ModelDoc | None = None) -> int:
    """Create or replace `layer.table` from a SELECT in one transaction; returns its row count."""
    layer = qualified.split(".")[0]
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {layer}")
        con.execute(f"create or replace table {qualified} as\n{select_sql}", bind(select_sql, params or {}))
        if doc is not None:
            apply_doc(con, qualified, doc)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open and refuses register() after it.
    return con.execute(f"select count(*) from {qualified}").fetchall()[0][0]


def run_model(con: duckdb.DuckDBPyConnection, qualified: str, params: dict | None = None) -> int:
    """Materialize the SQL model `layer.table` from its file; returns the row count."""
    sql = model_sql(qualified)
    return replace_table(con, qualified, sql, params, parse_doc(sql))


@contextlib.contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, frame) -> Iterator[None]:
    """`frame` (pandas or Arrow) visible to SQL as `name` for the block. DuckDB 2.0 refuses
    register() and unregister() while an execute() result is half read, so pending results are
    run to their end first."""
    con.complete()
    con.register(name, frame)
    try:
        yield
    finally:
        con.complete()
        con.unregister(name)


def sql_build(qualified: str, params: Callable[[duckdb.DuckDBPyConnection, object], dict]):
    """The build function of a SQL model: `build(con, settings)` runs its file with
    `params(con, settings)` and returns the row count. Named and documented after the model, so
    Dagster and logs show which table it builds."""

    def build(con: duckdb.DuckDBPyConnection, settings) -> int:
        return run_model(con, qualified, params(con, settings))

    build.__name__ = f"build_{qualified.replace('.', '_')}"
    build.__doc__ = parse_doc(model_sql(qualified)).description
    return build


def replace_table_from_frame(con: duckdb.DuckDBPyConnection, qualified: str, frame, doc: ModelDoc | None = None) -> int:
    """Same as replace_table for a table computed in Python (a pandas DataFrame or Arrow table)."""
    with registered(con, "_frame_to_materialize", frame):
        return replace_table(con, qualified, "select * from _frame_to_materialize", None, doc)
