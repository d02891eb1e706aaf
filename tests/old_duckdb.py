"""An older DuckDB release in a venv of its own: the reader BI tools embed, to open our published file
with. `pip install` from the package index, once per test session (about 15 s)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.venvs import venv_python

OLD_DUCKDB = "1.1.3"
"""The oldest release serving_storage_version's default (v1.1.0) promises to open."""

READ_EVERYTHING = textwrap.dedent("""
    import json, sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    tables = con.execute("select schema_name, table_name, comment from duckdb_tables() where not internal "
                         "order by 1, 2").fetchall()
    out = {"version": duckdb.__version__, "tables": {}, "columns": {}}
    for schema, table, comment in tables:
        count = con.execute(f'select count(*) from (select * from "{schema}"."{table}")').fetchone()[0]
        out["tables"][f"{schema}.{table}"] = [count, comment]
    for schema, table, column, comment in con.execute(
            "select schema_name, table_name, column_name, comment from duckdb_columns() where not internal").fetchall():
        out["columns"][f"{schema}.{table}.{column}"] = comment
    print(json.dumps(out))
""")


def old_duckdb_python(root: Path) -> Path:
    """The Python of a venv with duckdb OLD_DUCKDB (made under `root`)."""
    return venv_python(root / f"duckdb-{OLD_DUCKDB}", [f"duckdb=={OLD_DUCKDB}"])


def read_with(python: Path, database: Path) -> subprocess.CompletedProcess:
    """READ_EVERYTHING run by `python` on `database` (stdout: JSON of every table's rows and comment)."""
    return subprocess.run([str(python), "-c", READ_EVERYTHING, str(database)], capture_output=True, text=True,
                          timeout=300)


def read_here(database: Path) -> dict:
    """The same, read by this process's DuckDB."""
    done = subprocess.run([sys.executable, "-c", READ_EVERYTHING, str(database)], capture_output=True, text=True,
                          timeout=300, check=True)
    return json.loads(done.stdout)
