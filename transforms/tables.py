"""Writing a table computed outside dbt (the Python steps), each in one transaction, with its
table and column comments, so `journeys tables`, the DuckDB CLI and BI tools describe it like
the dbt models (whose comments dbt's persist_docs writes).

A step's documentation is a docstring in the models' format:

    One row per ... (the grain, then the reasons).
    columns:
      person_id: ...
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import duckdb

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class ModelDoc:
    description: str
    columns: dict[str, str]


def parse_doc(text: str) -> ModelDoc:
    """Reads a model's leading `--` comment block (or a docstring in the same format, without `--`)."""
    lines = text.strip().splitlines()
    if lines and lines[0].lstrip().startswith("--"):
        n_comment_lines = next((i for i, line in enumerate(lines) if not line.strip().startswith("--")), len(lines))
        lines = [line.strip()[2:] for line in lines[:n_comment_lines]]
    description: list[str] = []
    columns: dict[str, str] = {}
    in_columns = False
    for line in (raw_line.strip() for raw_line in lines):
        if line.lower() == "columns:":
            in_columns = True
        elif in_columns and ":" in line:
            name, _, desc = line.partition(":")
            columns[name.strip()] = desc.strip()
        elif line and not in_columns:
            description.append(line)
    return ModelDoc(" ".join(description), columns)


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
                  doc: ModelDoc | None = None, before_commit: Callable[[], None] | None = None) -> int:
    """Create or replace `layer.table` from a SELECT in one transaction; returns its row count.
    `before_commit` runs inside that transaction once the table is written (what it writes commits
    with the table or not at all)."""
    with _replacing(con, qualified, doc, before_commit):
        con.execute(f"create or replace table {qualified} as\n{select_sql}", bind(select_sql, params or {}))
    # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open and refuses register() after it.
    return con.execute(f"select count(*) from {qualified}").fetchall()[0][0]


def replace_table_in_batches(con: duckdb.DuckDBPyConnection, qualified: str, select_sql: str, name: str,
                             batches: Iterable, doc: ModelDoc | None = None) -> int:
    """Create or replace `layer.table` from `select_sql` run over each of `batches` (Arrow tables,
    at least one, visible to it as `name`); readers never see a part. Only one batch is held at a
    time; returns the row count.

    Each batch is committed on its own into a building table, which then replaces the table in one
    short transaction (a rename, no copy). Why: DuckDB holds every statement of an open transaction
    in memory outside its memory limit (about 140 MB per million journey steps), so one
    transaction over all the batches grew with the history (17 GB at 100M events)."""
    building = _fill_building_table(con, qualified, select_sql, name, batches)
    if building is None:
        raise ValueError(f"{qualified}: no batch to build it from")
    with _replacing(con, qualified, doc):
        con.execute(f"drop table if exists {qualified}")
        con.execute(f"alter table {building} rename to {qualified.split('.')[1]}")
    return con.execute(f"select count(*) from {qualified}").fetchall()[0][0]


def replace_rows_in_batches(con: duckdb.DuckDBPyConnection, qualified: str, where: str, select_sql: str, name: str,
                            batches: Iterable) -> int:
    """Delete the rows of the existing `layer.table` that match `where`, and insert `select_sql` run
    over each of `batches` (visible to it as `name`), in one transaction (an incremental build);
    returns the table's row count. The batches go through a building table first, as in
    replace_table_in_batches: one INSERT … SELECT of all of them stays within DuckDB's memory limit."""
    building = _fill_building_table(con, qualified, select_sql, name, batches)
    con.execute("begin transaction")
    try:
        con.execute(f"delete from {qualified} where {where}")
        if building is not None:
            con.execute(f"insert into {qualified} select * from {building}")
            con.execute(f"drop table {building}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return con.execute(f"select count(*) from {qualified}").fetchall()[0][0]


def _fill_building_table(con: duckdb.DuckDBPyConnection, qualified: str, select_sql: str, name: str,
                         batches: Iterable) -> str | None:
    """`qualified`__building, created anew (what a killed build left is dropped; dropped on failure) and filled with
    `select_sql` over each batch, each committed on its own; returns its name (None: no batch)."""
    building = f"{qualified}__building"
    con.execute(f"create schema if not exists {qualified.split('.')[0]}")
    con.execute(f"drop table if exists {building}")
    created = False
    try:
        for batch in batches:
            with registered(con, name, batch):
                con.execute(f"insert into {building}\n{select_sql}" if created
                            else f"create table {building} as\n{select_sql}")
            created = True
    except BaseException:
        con.execute(f"drop table if exists {building}")
        raise
    return building if created else None


@contextlib.contextmanager
def _replacing(con: duckdb.DuckDBPyConnection, qualified: str, doc: ModelDoc | None,
               before_commit: Callable[[], None] | None = None) -> Iterator[None]:
    """The block's statements (which create `qualified`), its docs and `before_commit`, committed
    together or not at all."""
    con.execute("begin transaction")
    try:
        con.execute(f"create schema if not exists {qualified.split('.')[0]}")
        yield
        if doc is not None:
            apply_doc(con, qualified, doc)
        if before_commit is not None:
            before_commit()
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


@contextlib.contextmanager
def memory_left_to_python(con: duckdb.DuckDBPyConnection, memory_limit: str) -> Iterator[None]:
    """Halves DuckDB's memory limit while a Python step holds its own large arrays, then sets it back
    to `memory_limit` (settings.duckdb_memory_limit: a size, or a share of RAM like '80%').

    DuckDB keeps up to its limit in caches (it evicts them to meet a lower one), so a step that
    holds numpy or pandas data beside it would take the process past the configured budget: at
    100M events, the CLV fit's frames on top of a full buffer."""
    current = con.execute("select current_setting('memory_limit')").fetchall()[0][0]  # e.g. '1.8 GiB'
    number, unit = re.fullmatch(r"\s*([\d.]+)\s*([A-Za-z]*)\s*", current).groups()
    con.execute(f"set memory_limit = '{int(float(number) * _UNITS[unit.lower()]) // 2}B'")
    try:
        yield
    finally:
        con.execute(f"set memory_limit = '{memory_limit}'")


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


def replace_table_from_frame(con: duckdb.DuckDBPyConnection, qualified: str, frame, doc: ModelDoc | None = None) -> int:
    """Same as replace_table for a table computed in Python (a pandas DataFrame or Arrow table)."""
    with registered(con, "_frame_to_materialize", frame):
        return replace_table(con, qualified, "select * from _frame_to_materialize", None, doc)
