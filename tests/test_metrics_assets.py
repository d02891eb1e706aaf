"""The metrics marts as a whole: Dagster assets, one row per stated grain, every column documented,
and rebuilds that give the same tables."""

from __future__ import annotations

import pytest

from tests.metrics_helpers import build_marts, fresh_settings, settings_as_of, touchpoints, write_journey_model

EVENTS = touchpoints(
    "p1 j1 2025-01-06 10:00 web page_view",
    "p1 j1 2025-01-06 10:10 web product_view",
    "p1 j1 2025-01-06 10:40 web purchase 30 order=o1",
    "p1 j1 2025-01-06 11:40 web purchase 30 order=o2",
    "p1 j2 2025-05-20 10:00 email unsubscribe",
    "p2 j3 2025-02-07 09:00 store purchase 100",
    "p2 j3 2025-03-07 09:00 store product_usage",
    "p3 j4 2025-03-01 08:00 social ad_click",
)
AS_OF = "2025-06-30"

GRAINS = {
    "marts.stage_funnel": "breakdown, breakdown_value, stage",
    "marts.conversion": "period_grain, period_start, breakdown, breakdown_value",
    "marts.customer_facts": "person_id",
    "marts.customer_spells": "person_id, churned_at, reason, exit_event_type",
    "marts.customer_churn_periods": "person_id, period_number",
    "marts.customer_lifecycle": "person_id",
    "marts.churn_monthly": "month_start, breakdown, breakdown_value",
    "marts.cohort_retention": "cohort_month, months_since_acquisition, breakdown, breakdown_value",
    "marts.customer_value": "person_id",
    "marts.clv_model_params": "segment, model, parameter",
}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    connection = build_marts(fresh_settings(tmp_path_factory.mktemp("all")), EVENTS, AS_OF)
    yield connection
    connection.close()


@pytest.mark.parametrize("table", sorted(GRAINS))
def test_each_mart_has_one_row_per_its_stated_grain(con, table):
    """No two rows share the grain the table's description states."""
    n_rows, n_keys = con.execute(
        f"select count(*), count(distinct ({GRAINS[table]})) from {table}").fetchone()
    assert n_rows == n_keys and (n_rows > 0 or table == "marts.clv_model_params")


@pytest.mark.parametrize("table", sorted(GRAINS))
def test_every_column_is_documented(con, table):
    """The model header becomes a table comment and one comment per column."""
    schema, name = table.split(".")
    table_comment = con.execute(
        "select comment from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]).fetchone()[0]
    undocumented = con.execute(
        "select column_name from duckdb_columns() where schema_name = ? and table_name = ? and comment is null",
        [schema, name]).fetchall()
    assert table_comment and undocumented == []


def test_rebuilding_gives_the_same_tables(con, tmp_path):
    """A second build of the same data as of the same date reproduces every mart row for row."""
    again = build_marts(fresh_settings(tmp_path), EVENTS, AS_OF)
    try:
        for table in GRAINS:
            query = f"select * from {table} order by all"
            assert again.execute(query).fetchall() == con.execute(query).fetchall(), table
    finally:
        again.close()


def test_the_metrics_assets_materialize_with_dagster(tmp_path, monkeypatch):
    """materialize(metrics_assets) against a warehouse holding the journey model builds every mart."""
    from tests.helpers import materialize_tables
    from tests.metrics_helpers import METRICS_TABLES

    settings = settings_as_of(fresh_settings(tmp_path / "home"), AS_OF)
    settings.home.mkdir(parents=True)
    write_journey_model(settings.warehouse_path, EVENTS)
    monkeypatch.setenv("JOURNEYS_AS_OF", AS_OF)
    monkeypatch.delenv("JOURNEYS_CONFIG", raising=False)
    result = materialize_tables(settings.home, METRICS_TABLES)
    assert result.success
    built = {".".join(e.event_specific_data.materialization.asset_key.path): e.event_specific_data.materialization.metadata
             for e in result.get_asset_materialization_events()}
    assert set(built) == set(GRAINS) | {"intermediate.int_clv_predictions"}
    assert built["marts.customer_lifecycle"]["dagster/row_count"].value == 2
    assert "no model fitted" in built["marts.clv_model_params"]["clv_status"].value


def test_the_marts_build_on_the_real_journey_model(tmp_path):
    """From raw touchpoints through the journey model: one web journey to a purchase of 20, as of its
    last touchpoint (the default), reaches decision, converts, and makes its person a new customer."""
    from journeys.transforms import build_plan
    from tests import helpers
    from tests.metrics_helpers import METRICS_TABLES

    con = helpers.warehouse(tmp_path)
    try:
        helpers.events(con, ["web page_view", "web product_view", "web add_to_cart", "web purchase 20"])
        helpers.build(con)
        build_plan.build(con, helpers.settings(), METRICS_TABLES)
        reached = con.execute(
            "select list(n_reached order by stage_rank) from marts.stage_funnel where breakdown = 'overall'"
        ).fetchone()[0]
        assert reached == [1, 1, 1, 0, 0]
        assert con.execute(
            """select n_converted_journeys, revenue, median_time_to_convert_s from marts.conversion
               where period_grain = 'all' and breakdown = 'overall'"""
        ).fetchone() == (1, 20.0, 3 * 3600.0)
        assert con.execute("select status, customer_id from marts.customer_lifecycle").fetchall() == [("new", "c1")]
    finally:
        con.close()
