"""Quality gates: every suite passes on a real build and names the right check on broken data.

The good warehouse is a small simulated population built by the real transforms. Each broken
case copies it and damages one table in DuckDB, the way a bug or a bad load would; the raw
volume case builds its raw table from scratch.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from journeys import warehouse
from journeys.quality.gates import ERROR, WARN, run_gates
from journeys.quality.suites import all_gates, gates_for
from journeys.settings import load_settings
from tests.sample_warehouse import build_sample_warehouse, copy_warehouse


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    return build_sample_warehouse(tmp_path_factory.mktemp("good") / "home", publish=False)


@pytest.fixture
def broken(good, tmp_path):
    """A copy of the good warehouse and a function that damages it with SQL, then runs one table's gates."""
    settings = copy_warehouse(good, tmp_path / "home")

    def damage(table: str, *statements: str):
        with warehouse.writer(settings) as con:
            for statement in statements:
                con.execute(statement)
            return {r.gate.name: r for r in run_gates(con, gates_for(table), settings)}

    return damage


def failed(results: dict) -> set[str]:
    return {name for name, r in results.items() if not r.passed}


def test_every_suite_passes_on_good_data(good):
    """Every gate of every layer passes on a real build of simulated data."""
    with warehouse.writer(good) as con:
        tables = {f"{s}.{t}" for s, t in con.execute("select schema_name, table_name from duckdb_tables()").fetchall()}
        gates = all_gates()
        missing = {g.table for g in gates} - tables
        assert not missing, f"suites name tables the build does not make: {missing}"
        results = run_gates(con, gates, good)
    assert [r.line() for r in results if not r.passed] == []
    assert {r.gate.table.split(".")[0] for r in results} == {"raw", "staging", "marts"}


BROKEN = [
    # (what breaks, table, statements, check that must fail, severity, text in the failing-row sample)
    ("null key", "staging.stg_touchpoints",
     ["update staging.stg_touchpoints set event_id = null where event_id = (select min(event_id) from staging.stg_touchpoints)"],
     "event_id_unique_not_null", ERROR, "NULL"),
    ("duplicate key", "marts.journeys",
     ["insert into marts.journeys select * from marts.journeys order by journey_id limit 1"],
     "journey_id_unique_not_null", ERROR, None),
    ("score out of range", "staging.stg_touchpoints",
     ["update staging.stg_touchpoints set nps_score = 11, event_id = 'bad-nps' "
      "where event_id = (select min(event_id) from staging.stg_touchpoints where nps_score is not null)"],
     "scores_in_range", ERROR, "bad-nps"),
    ("negative revenue", "staging.stg_touchpoints",
     ["update staging.stg_touchpoints set revenue = -20, event_id = 'refund-as-purchase' "
      "where event_id = (select min(event_id) from staging.stg_touchpoints where revenue > 0)"],
     "revenue_not_negative", ERROR, "refund-as-purchase"),
    ("occurred_at in the future (raw)", "raw.touchpoints",
     ["insert into raw.touchpoints by name select * replace ('from-the-future' as event_id, "
      "now()::timestamp + interval 3 day as occurred_at, now()::timestamp as ingested_at) "
      "from raw.touchpoints limit 1"],
     "occurred_at_not_in_future", ERROR, "from-the-future"),
    ("occurred_at in the future (staging)", "staging.stg_touchpoints",
     ["update staging.stg_touchpoints set occurred_at = now()::timestamp + interval 3 day, event_id = 'from-the-future' "
      "where event_id = (select min(event_id) from staging.stg_touchpoints)"],
     "occurred_at_not_in_future", ERROR, "from-the-future"),
    ("unmapped event types above the threshold", "marts.journey_steps",
     ["update marts.journey_steps set stage = null, stage_kind = 'unmapped', event_type = 'mystery_event' "
      "where step_number % 5 = 0"],
     "unmapped_event_share", WARN, "mystery_event"),
    ("journey type outside the four", "marts.journeys",
     ["update marts.journeys set journey_type = 'spiral' where journey_id = (select min(journey_id) from marts.journeys)"],
     "journey_type_valid", ERROR, "spiral"),
    ("funnel count increasing", "marts.stage_funnel",
     ["update marts.stage_funnel set n_reached = n_journeys where breakdown = 'overall' and stage_rank = 4"],
     "funnel_never_increases", ERROR, "overall"),
    ("attribution shares not summing to 1", "marts.attribution",
     ["update marts.attribution set share = share * 1.1 where model = 'linear' and dimension = 'channel'"],
     "attribution_shares_sum_to_one", ERROR, "linear"),
    ("attribution crediting one conversion fewer", "marts.attribution",
     ["update marts.attribution set conversions = conversions - 1 where model = 'last_touch' and dimension = 'campaign' "
      "and dimension_value = (select max(dimension_value) from marts.attribution where model = 'last_touch' "
      "and dimension = 'campaign' and conversions >= 1)"],
     "attribution_shares_sum_to_one", ERROR, "last_touch"),
]


@pytest.mark.parametrize("case, table, statements, check, severity, sample_text", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_input_fails_the_right_check(broken, case, table, statements, check, severity, sample_text):
    """The damaged table's suite fails exactly the check made for that damage, with counts and a sample."""
    results = broken(table, *statements)
    assert failed(results) == {check}, case
    result = results[check]
    assert result.severity == severity
    meta = result.metadata()
    assert meta["failing_rows"] >= 1 and meta["failed"]
    if sample_text is not None:
        assert sample_text in meta["sample"]


def test_attribution_totals_differing_only_in_the_last_bits_pass(broken):
    """At 100M events the models' credited conversions (1.37M, fractional credits summed in
    different orders) differed by 3.5e-5: rounding, not a lost conversion. Scaled up so that a
    relative 1e-9 is an absolute 0.04, that passes; one conversion short (above) fails."""
    results = broken("marts.attribution", "update marts.attribution set conversions = conversions * 1e6",
                     "update marts.attribution set conversions = conversions * (1 + 1e-9) where model = 'linear'")
    assert "attribution_shares_sum_to_one" in results and failed(results) == set()


def daily_events(con, volumes: dict[str, list[int]], last_day: dt.date):
    """raw.touchpoints with volumes[channel][i] events on day i, the list ending the day before last_day."""
    from journeys.pipelines.raw_writer import create_raw_tables

    create_raw_tables(con)
    rows = []
    for channel, counts in volumes.items():
        first = last_day - dt.timedelta(days=len(counts))
        for i, n in enumerate(counts):
            day = first + dt.timedelta(days=i)
            rows += [(f"{channel}-{day}-{k}", dt.datetime.combine(day, dt.time(12)), channel) for k in range(n)]
    rows.append(("today", dt.datetime.combine(last_day, dt.time(1)), "web"))  # the day still filling up
    con.execute("create temp table incoming (event_id varchar, occurred_at timestamp, channel varchar)")
    con.executemany("insert into incoming values (?, ?, ?)", rows) if len(rows) < 50 else \
        con.register("incoming_frame", __import__("pandas").DataFrame(rows, columns=["event_id", "occurred_at", "channel"]))
    source = "incoming_frame" if len(rows) >= 50 else "incoming"
    con.execute(f"""insert into raw.touchpoints (event_id, occurred_at, channel, event_type, source_topic, ingested_at, load_id)
                    select event_id, occurred_at, channel, 'page_view', 'test', occurred_at, 'load-1' from {source}""")


def test_sudden_drop_in_daily_volume_warns(tmp_path):
    """A channel whose latest complete day falls below half its trailing median is flagged (a warning);
    a channel too small to judge, and normal day-to-day noise, are not."""
    settings = load_settings(home=tmp_path / "home")
    last_day = dt.date(2025, 3, 31)
    with warehouse.writer(settings) as con:
        daily_events(con, {
            "web": [100, 90, 110, 95, 105] * 6 + [30],      # collapsed to 30 after a median of 100
            "email": [40, 45, 35, 50, 40] * 6 + [38],       # normal
            "sms": [3, 2, 4, 3, 2] * 6 + [0],               # too small to judge
        }, last_day)
        (result,) = run_gates(con, [g for g in gates_for("raw.touchpoints") if g.name == "daily_volume_per_channel"],
                              settings)
    assert not result.passed and result.severity == WARN
    assert result.failing_rows == 1 and result.rows_checked == 2
    assert "web" in result.sample and "2025-03-30" in result.sample


def test_dagster_blocking_check_keeps_last_good_publish(tmp_path):
    """A real Dagster materialize of the journey model with its checks: an ERROR check blocks every asset
    downstream and publishing, so the published warehouse stays byte-for-byte the last good one."""
    from dagster import AssetKey

    from journeys.assets.serving import PUBLISHED, published_warehouse_asset
    from journeys.pipelines.loader import load_file
    from journeys.pipelines.sim_files import write_simulation
    from tests.helpers import journey_tables, materialize_tables

    settings = load_settings(home=tmp_path / "home")
    write_simulation(tmp_path / "events.parquet", 60, 30, seed=3)
    load_file(settings, tmp_path / "events.parquet")
    publish = published_warehouse_asset([AssetKey(t.split(".")) for t in journey_tables()])

    def build():
        return materialize_tables(settings.home, journey_tables(), extra=[publish])

    first = build()
    assert first.success
    evaluations = first.get_asset_check_evaluations()
    assert evaluations and all(e.passed for e in evaluations)
    published = settings.published_path.read_bytes()

    with warehouse.writer(settings) as con:  # a bulk load that bypassed validation
        con.execute("""insert into raw.touchpoints by name select * replace ('from-the-future' as event_id,
                       now()::timestamp + interval 5 day as occurred_at) from raw.touchpoints limit 1""")
    second = build()
    assert not second.success
    failing = [e for e in second.get_asset_check_evaluations() if not e.passed]
    assert [(tuple(e.asset_key.path), e.check_name) for e in failing] == [
        (("staging", "stg_touchpoints"), "occurred_at_not_in_future")]
    assert "from-the-future" in failing[0].metadata["sample"].value
    built = {tuple(e.event_specific_data.materialization.asset_key.path) for e in second.get_asset_materialization_events()}
    assert built == {("staging", "stg_touchpoints"), ("intermediate", "int_stage_model"), ("intermediate", "int_stages"),
                     ("marts", "stage_model"), ("marts", "stages")}  # only what does not read staging
    assert tuple(PUBLISHED) not in built
    assert hashlib.sha256(settings.published_path.read_bytes()).digest() == hashlib.sha256(published).digest()


def test_checks_load_in_dagster_definitions():
    """One multi-asset check per table, one check per gate, ERROR gates blocking; GX is not imported to define them."""
    import subprocess
    import sys

    code = ("import sys; from journeys.quality.checks import all_checks; c = all_checks(); "
            "print(len(c), sum(len(list(x.check_specs)) for x in c), 'great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(len({g.table for g in all_gates()})), str(len(all_gates())), "False"]
    from journeys.quality.checks import all_checks

    specs = {(s.asset_key.path[-1], s.name): s for c in all_checks() for s in c.check_specs}
    assert specs[("journeys", "journey_type_valid")].blocking
    assert not specs[("journey_steps", "unmapped_event_share")].blocking


def test_every_gate_sits_beside_an_asset_of_the_code_location():
    """A gate on a table no asset makes would never run: every gate's table is an asset, every mart
    has a suite, and the Definitions (assets, blocking checks, their extra dependencies) load without a cycle."""
    from dagster import Definitions

    from journeys.assets import definitions

    Definitions.validate_loadable(definitions.defs)
    keys = {"/".join(k.path) for k in definitions.defs.resolve_asset_graph().get_all_asset_keys()}
    gated = {g.table.replace(".", "/") for g in all_gates()}
    assert gated - keys == set()
    assert {k for k in keys if k.startswith("marts/")} - gated == set()
