"""The CX marts as Dagster assets and as documented, rebuildable DuckDB tables."""

from __future__ import annotations

from dagster import AssetKey

from journeys.assets.definitions import warehouse_assets
from tests.cx_inputs import CX_TABLES, Inputs, build_marts, rows


def _journeys() -> Inputs:
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click campaign=spring", "web purchase revenue=20 order=o1",
                   "chat ticket_opened ticket=t1 issue=billing", "chat chat_reply ticket=t1",
                   "email survey_response ticket=t1 csat=4 nps=9 ces=2")
    inputs.journey("j2", "p2", "email email_open", "web page_view")
    inputs.customer("p1", 0.8, 120.0)
    return inputs


def test_one_asset_per_table_keyed_by_layer_and_table():
    """Every CX mart is an asset keyed [layer, table], depending on the tables it reads."""
    keys = {key for asset in warehouse_assets for key in asset.keys}
    assert keys >= {AssetKey(table.split(".")) for table in CX_TABLES}
    attribution = next(a for a in warehouse_assets if AssetKey(["marts", "attribution"]) in a.keys)
    assert set(attribution.asset_deps[AssetKey(["marts", "attribution"])]) == {AssetKey(["marts", "journey_steps"])}


def test_every_table_and_column_is_documented(settings):
    """Each CX table carries a table comment and a comment on every column (its SQL header or docstring)."""
    con = build_marts(settings, _journeys())
    for qualified in CX_TABLES:
        schema, table = qualified.split(".")
        [(comment,)] = con.execute("select comment from duckdb_tables() where schema_name = ? and table_name = ?",
                                   [schema, table]).fetchall()
        assert comment, qualified
        undocumented = [r["column_name"] for r in rows(
            con, "select column_name from duckdb_columns() where schema_name = ? and table_name = ? and comment is null",
            schema, table)]
        assert undocumented == [], qualified


def test_rebuilding_gives_the_same_tables(settings):
    """A second build over the same inputs leaves every CX table unchanged."""
    first = build_marts(settings, _journeys())
    before = {t: sorted(map(repr, first.execute(f"select * from {t}").fetchall())) for t in CX_TABLES}
    first.close()
    again = build_marts(settings, _journeys())
    after = {t: sorted(map(repr, again.execute(f"select * from {t}").fetchall())) for t in CX_TABLES}
    assert after == before
