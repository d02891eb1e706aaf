"""The move to dbt changes no figure: the demo population (2,000 customers, 120 days, seed 7, as
`journeys demo` simulates it) loaded once, built by the old runner in one copy and by `journeys
build` (dagster-dbt) in another, gives the same tables: the same columns, types and comments, and
the same rows (doubles to 1e-9 relative: DuckDB's parallel sums may add in another order).

Kept only while both layers exist: the commit that deletes the runner deletes this test."""

from __future__ import annotations

import math
import shutil

import duckdb
import pytest

from journeys import warehouse
from journeys.settings import load_settings

pytestmark = pytest.mark.slow


def _tables(con, db: str) -> dict[tuple[str, str], str | None]:
    return {(s, t): c for s, t, c in con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = ? and schema_name not in ('raw', 'meta')", [db]).fetchall()}


def _columns(con, db: str, schema: str, table: str) -> list[tuple]:
    return con.execute("select column_name, data_type, comment from duckdb_columns() where database_name = ? "
                       "and schema_name = ? and table_name = ? order by column_index", [db, schema, table]).fetchall()


def _rows(con, db: str, schema: str, table: str, columns: list[tuple]) -> list[tuple]:
    """Rows in a stable order: doubles rounded to 6 significant digits only for sorting."""
    keys = ", ".join(f"round({c}, 6 - cast(ceil(log10(abs({c}) + 1e-300)) as int))" if t == "DOUBLE" else f'"{c}"'
                     for c, t, _ in columns if not t.endswith("[]") and not t.startswith(("MAP", "STRUCT")))
    return con.execute(f"select * from {db}.{schema}.{table} order by {keys or 1}").fetchall()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_dbt_layer_builds_the_same_tables_as_the_runner(tmp_path):
    from journeys.build import build_warehouse
    from journeys.pipelines.loader import load_file
    from journeys.pipelines.sim_files import write_simulation
    from journeys.transforms.cx_model import build_cx
    from journeys.transforms.journey_model import build_journey_model
    from journeys.transforms.metrics_model import build_metrics

    old, new = load_settings(home=tmp_path / "old"), load_settings(home=tmp_path / "new")
    events = tmp_path / "events.parquet"
    write_simulation(events, 2000, 120, 7)
    load_file(old, events)
    new.home.mkdir(parents=True)
    shutil.copy(old.warehouse_path, new.warehouse_path)  # one load: the same load_id and ingested_at

    with warehouse.writer(old) as con:
        build_journey_model(con, old)
        build_metrics(con, old)
        build_cx(con, old)
    assert build_warehouse(new).success

    con = duckdb.connect()
    con.execute(f"attach '{old.warehouse_path}' as old (read_only)")
    con.execute(f"attach '{new.warehouse_path}' as new (read_only)")
    old_tables, new_tables = _tables(con, "old"), _tables(con, "new")
    # The one new table: the CLV fit's predictions, which marts.customer_value now reads as a table.
    assert set(new_tables) - set(old_tables) == {("intermediate", "int_clv_predictions")}
    assert set(old_tables) <= set(new_tables)
    assert len(old_tables) == 33
    for schema, table in sorted(old_tables):
        assert new_tables[(schema, table)] == old_tables[(schema, table)], f"{schema}.{table} comment"
        columns = _columns(con, "old", schema, table)
        assert _columns(con, "new", schema, table) == columns, f"{schema}.{table} columns"
        old_rows, new_rows = _rows(con, "old", schema, table, columns), _rows(con, "new", schema, table, columns)
        assert len(new_rows) == len(old_rows), f"{schema}.{table} row count"
        different = [(a, b) for a, b in zip(old_rows, new_rows) if not _same(a, b)]
        assert not different, f"{schema}.{table}: {len(different)} rows differ, e.g. {different[0]}"
