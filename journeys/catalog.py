"""What the published warehouse holds, for `journeys tables`: every table with its grain (the
table comment, "One row per ...") and its columns' descriptions (column comments). The
comments come from each dbt model's .yml (persist_docs) or a Python step's docstring, so the DuckDB CLI and BI
tools show the same text."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass, field

import duckdb

from journeys import warehouse
from journeys.settings import Settings

LAYER_ORDER = {"marts": 0, "staging": 1, "intermediate": 2, "raw": 3}
"""Marts first: they are what people query."""


@dataclass
class ColumnDoc:
    name: str
    type: str
    description: str | None


@dataclass
class TableDoc:
    schema: str
    name: str
    description: str | None
    n_rows: int
    columns: list[ColumnDoc] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


def describe(con: duckdb.DuckDBPyConnection, schema: str | None = None) -> list[TableDoc]:
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = current_database() and not internal and (? is null or schema_name = ?)",
        [schema, schema],
    ).fetchall()
    columns = con.execute(
        "select schema_name, table_name, column_name, data_type, comment from duckdb_columns() "
        "where database_name = current_database() and not internal order by column_index"
    ).fetchall()
    by_table: dict[tuple[str, str], list[ColumnDoc]] = {}
    for s, t, name, dtype, comment in columns:
        by_table.setdefault((s, t), []).append(ColumnDoc(name, dtype, comment))
    docs = []
    for s, t, comment in sorted(tables, key=lambda r: (LAYER_ORDER.get(r[0], 9), r[0], r[1])):
        n_rows = con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
        docs.append(TableDoc(s, t, comment, n_rows, by_table.get((s, t), [])))
    return docs


def published_tables(settings: Settings, schema: str | None = None) -> list[TableDoc]:
    con = warehouse.reader(settings)
    try:
        return describe(con, schema)
    finally:
        con.close()


def format_tables(tables: list[TableDoc], fmt: str = "text", columns: bool = True) -> str:
    if fmt == "json":
        return json.dumps([asdict(t) | {"qualified": t.qualified} for t in tables], indent=2)
    lines: list[str] = []
    for t in tables:
        if fmt == "markdown":
            lines += [f"### {t.qualified}", "", f"{t.description or '(no description)'} ({t.n_rows:,} rows)", ""]
            if columns:
                lines += ["| column | type | description |", "|---|---|---|"]
                lines += [f"| `{c.name}` | {c.type} | {(c.description or '').replace('|', '/')} |" for c in t.columns]
                lines.append("")
        else:
            lines.append(f"{t.qualified}  ({t.n_rows:,} rows)")
            lines.append(textwrap.fill(t.description or "(no description)", 100, initial_indent="    ",
                                       subsequent_indent="    "))
            if columns:
                width = max((len(c.name) for c in t.columns), default=0)
                type_width = max((len(c.type) for c in t.columns), default=0)
                for c in t.columns:
                    lines.append(f"      {c.name:<{width}}  {c.type:<{type_width}}  {c.description or ''}".rstrip())
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
