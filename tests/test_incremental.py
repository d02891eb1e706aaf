"""Incremental builds give exactly what a full build of the same raw gives.

A simulated population arrives in five batches, built after each, the way an hourly schedule
meets it: batches in time order, but with the store's events of the first weeks held back to the
fourth batch (a late nightly store file), every identity link of the first weeks (an event carrying
both an anonymous_id and a customer_id, which joins the two halves of a person) held back to the
last batch, and redelivered copies of early events in a later batch. The warehouse after the
fifth build is then compared, table by table, with `--full` on a copy of it: identical rows
(doubles to a relative 1e-9).
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from journeys import warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan, dbt_project, incremental
from tests import helpers

DERIVED = ("staging", "intermediate", "marts")


def arrival_batches(events: pa.Table) -> list[pa.Table]:
    """Five batches of the events: by occurred_at fifths, with the late store events, late identity
    links and redeliveries the module docstring describes."""
    micros = pc.cast(events["occurred_at"], pa.int64()).to_numpy()
    batch = np.minimum((micros - micros.min()) * 5 // (micros.max() - micros.min() + 1), 4)
    early = batch <= 1
    batch[early & (events["channel"].to_numpy(zero_copy_only=False) == "store")] = 3
    batch[early & pc.and_(pc.is_valid(events["anonymous_id"]), pc.is_valid(events["customer_id"])).to_numpy(
        zero_copy_only=False)] = 4
    batches = [events.filter(pa.array(batch == k)) for k in range(5)]
    redelivered = batches[0].slice(0, 25)
    redelivered = redelivered.set_column(redelivered.schema.get_field_index("received_at"), "received_at",
                                         pc.add(redelivered["received_at"], pa.scalar(dt.timedelta(hours=1))))
    batches[2] = pa.concat_tables([batches[2], redelivered])
    return batches


def derived_tables(path) -> list[str]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return [f"{s}.{t}" for s, t in con.execute(
            f"select schema_name, table_name from duckdb_tables() where schema_name in {DERIVED} order by all").fetchall()]
    finally:
        con.close()


def differing_rows(left, right, table: str) -> list[tuple]:
    """Pairs of rows of `table` that differ between the two warehouse files (helpers.differing_rows)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        return helpers.differing_rows(con, f"l.{table}", f"r.{table}")
    finally:
        con.close()


@pytest.fixture(scope="module")
def built_in_batches(tmp_path_factory):
    """(settings, build modes) after loading and building each of the five batches in turn: per
    build, how each incremental model was to be built."""
    root = tmp_path_factory.mktemp("incremental")
    simulated = root / "events.parquet"
    write_simulation(simulated, 250, 60, 5)
    settings = load_settings(home=root / "home")
    modes = []
    recorded = []  # every model's mode as the build records it
    record = incremental.record
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(incremental, "record", lambda con, mode, *args: (recorded.append(mode), record(con, mode, *args)))
        for number, batch in enumerate(arrival_batches(pq.read_table(simulated))):
            path = root / f"batch-{number}.parquet"
            pq.write_table(batch, path)
            load_file(settings, path)
            with warehouse.writer(settings) as con:
                modes.append([dbt_project.build_mode(con, settings, model) for model in incremental.INCREMENTAL_MODELS])
                build_plan.build(con, settings)
    n_models = len(incremental.INCREMENTAL_MODELS)
    return settings, modes, [recorded[i:i + n_models] for i in range(0, len(recorded), n_models)]


def test_the_batches_hold_late_events_and_each_build_after_the_first_is_incremental(built_in_batches):
    settings, modes, recorded = built_in_batches
    with warehouse.writer(settings) as con:
        # per load, in arrival order: the store events and identity links older than the previous load's latest event
        late = con.execute("""
            with loads as (
                select load_id, min(ingested_at) as loaded_at, max(occurred_at) as latest_at
                from raw.touchpoints group by load_id
            ),
            ordered as (
                select *, lag(latest_at) over (order by loaded_at) as previous_latest_at from loads
            )
            select (select count(*) from raw.touchpoints as t where t.load_id = o.load_id and t.channel = 'store'
                        and t.occurred_at < o.previous_latest_at),
                   (select count(*) from raw.touchpoints as t where t.load_id = o.load_id
                        and t.anonymous_id is not null and t.customer_id is not null
                        and t.occurred_at < o.previous_latest_at)
            from ordered as o order by o.loaded_at""").fetchall()
    assert late[3][0] > 0 and late[4][1] > 0  # late store events in the fourth load, late links in the fifth
    n_models = len(incremental.INCREMENTAL_MODELS)
    assert [[mode.full for mode in build] for build in modes] == [[True] * n_models] + [[False] * n_models] * 4
    assert all(modes[i][0].raw_from < modes[i + 1][0].raw_from for i in range(1, 4))
    # as built, above staging each model read what was logged since its last build: some persons, not all
    assert [[mode.model for mode in build] for build in recorded] == [list(incremental.INCREMENTAL_MODELS)] * 5
    with warehouse.writer(settings) as con:
        n_persons, n_identifiers = con.execute("select (select count(*) from marts.persons), "
                                               "(select count(*) from intermediate.int_identifiers)").fetchall()[0]

    def changed(model: str, noun: str) -> list[int]:
        reasons = [next(mode.reason for mode in build if mode.model == model) for build in recorded[1:]]
        assert all(reason.endswith(f" {noun} changed since the last build") for reason in reasons), reasons
        return [int(reason.split()[0].replace(",", "")) for reason in reasons]

    changed_persons = changed("intermediate.int_journey_steps", "persons")
    assert all(n > 0 for n in changed_persons) and min(changed_persons) < 0.6 * n_persons, (changed_persons, n_persons)
    changed_identifiers = changed("intermediate.int_identifiers", "identifiers")
    assert all(n > 0 for n in changed_identifiers) and min(changed_identifiers) < 0.6 * n_identifiers, (
        changed_identifiers, n_identifiers)


def test_five_incremental_builds_equal_a_full_build_table_by_table(built_in_batches, tmp_path):
    settings, _, _ = built_in_batches
    full = load_settings(home=tmp_path / "full")
    full.home.mkdir()
    shutil.copyfile(settings.warehouse_path, full.warehouse_path)
    with warehouse.writer(full) as con:
        incremental.forget(con)
        assert dbt_project.build_mode(con, full).full
        build_plan.build(con, full)
    tables = derived_tables(settings.warehouse_path)
    assert "staging.stg_touchpoints" in tables and "marts.journeys" in tables and len(tables) > 30
    assert derived_tables(full.warehouse_path) == tables
    differing = {t: rows for t in tables if (rows := differing_rows(settings.warehouse_path, full.warehouse_path, t))}
    assert differing == {}


@pytest.fixture
def loaded(tmp_path):
    """120 simulated customers over 40 days, loaded at once."""
    simulated = tmp_path / "events.parquet"
    write_simulation(simulated, 120, 40, 3)
    settings = load_settings(home=tmp_path / "home")
    load_file(settings, simulated)
    return settings


def full_copy(settings, home, tables: list[str] | None = None):
    """A copy of the warehouse, rebuilt in full with the same settings: every table, or `tables`."""
    home.mkdir()
    copy = settings.replace(home=home)
    shutil.copyfile(settings.warehouse_path, copy.warehouse_path)
    with warehouse.writer(copy) as con:
        incremental.forget(con)
        build_plan.build(con, copy, tables)
    return copy


def differing_from_a_full_build(settings, home) -> dict[str, list[tuple]]:
    """Per derived table, the rows where the warehouse differs from a full rebuild of a copy of it."""
    full = full_copy(settings, home)
    return {t: rows for t in derived_tables(settings.warehouse_path)
            if (rows := differing_rows(settings.warehouse_path, full.warehouse_path, t))}


def test_an_as_of_moved_forward_takes_in_the_events_it_now_covers(loaded, tmp_path):
    """Built as of day 10, then as of the last day with no new raw row: the events between the two
    as_of dates are raw rows the first build had already seen, yet staging must now hold them."""
    with warehouse.writer(loaded) as con:
        first_day = con.execute("select min(occurred_at) from raw.touchpoints").fetchone()[0]
    early = loaded.replace(as_of=first_day + dt.timedelta(days=10))
    late = loaded.replace(as_of=first_day + dt.timedelta(days=45))
    with warehouse.writer(early) as con:
        build_plan.build(con, early, ["staging.stg_touchpoints"])
        n_early = con.execute("select count(*) from staging.stg_touchpoints").fetchone()[0]
    with warehouse.writer(late) as con:
        mode = dbt_project.build_mode(con, late)
        assert not mode.full and mode.reason == "0 raw rows since the last build"
        build_plan.build(con, late, ["staging.stg_touchpoints"])
        n_late, n_distinct_raw = con.execute("select (select count(*) from staging.stg_touchpoints), "
                                             "(select count(distinct trim(event_id)) from raw.touchpoints)").fetchone()
    assert 0 < n_early < n_late == n_distinct_raw
    assert differing_rows(late.warehouse_path,
                          full_copy(late, tmp_path / "full", ["staging.stg_touchpoints"]).warehouse_path,
                          "staging.stg_touchpoints") == []


def test_a_changed_setting_an_as_of_moved_back_or_full_rebuild_everything(loaded):
    with warehouse.writer(loaded) as con:
        build_plan.build(con, loaded, ["staging.stg_touchpoints"])
        last_day = con.execute("select max(occurred_at) from raw.touchpoints").fetchone()[0]
        assert not dbt_project.build_mode(con, loaded).full
        assert dbt_project.build_mode(con, loaded.replace(reporting_currency="USD")).line() == (
            "staging.stg_touchpoints: full build: a setting or a model changed since the last build")
        moved_back = dbt_project.build_mode(con, loaded.replace(as_of=last_day - dt.timedelta(days=3)))
        assert moved_back.full and moved_back.reason.startswith("as_of moved back")
        incremental.forget(con)
        assert dbt_project.build_mode(con, loaded).reason.startswith("no earlier build to add to")


@pytest.mark.slow
def test_journeys_build_says_which_build_it_did_and_why(tmp_path):
    """CSV files of 3 and then 2 events: the first `journeys build` is full, the second adds the 2 new
    raw rows, and `--full` rebuilds from all of raw."""
    import os
    import subprocess
    import sys

    import pandas as pd

    def journeys(*argv):
        result = subprocess.run([sys.executable, "-m", "journeys.cli", *argv], capture_output=True, text=True,
                                env={**os.environ, "JOURNEYS_HOME": str(tmp_path / "home")})
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def csv(name, ids, day):
        pd.DataFrame({"event_id": ids, "occurred_at": [f"2025-03-{day:02d} 1{i}:00:00" for i in range(len(ids))],
                      "channel": "web", "event_type": "page_view", "customer_id": "c1"}).to_csv(tmp_path / name,
                                                                                                index=False)
        return str(tmp_path / name)

    journeys("load", "--file", csv("first.csv", ["a", "b", "c"], 1))
    assert "staging.stg_touchpoints: full build: no earlier build to add to" in journeys("build")
    journeys("load", "--file", csv("second.csv", ["d", "e"], 2))
    second = journeys("build")
    assert "staging.stg_touchpoints: incremental build: 2 raw rows since the last build" in second
    # Dagster's order, not the tests' build_plan order: every model, the attribution step (built
    # before the customer marts) included, adds to the first build
    assert "full build" not in second, second
    assert "intermediate.int_attribution_credits: 0 rows; incremental build: 1 persons changed" in second, second
    rebuilt = journeys("build", "--full")
    assert "staging.stg_touchpoints: full build: no earlier build to add to" in rebuilt
    assert "staging.stg_touchpoints: 5 rows" in rebuilt


def _dies_in_the_walk(monkeypatch) -> None:
    """The build dies in the journey walk, after staging and stitching took the new events in and
    logged what changed."""
    from journeys.transforms import classification

    def dies(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(classification, "build_int_journey_steps", dies)


def _dies_between_the_identity_map_and_its_log(monkeypatch) -> None:
    """The build dies once the new identity map is written and before the identifiers whose person
    changed are logged: the two must commit together or not at all."""
    log_changes = incremental.log_changes

    def dies(con, change_seq, producer, *args, **kwargs):
        if producer == incremental.IDENTITY_MAP:
            raise RuntimeError("killed")
        return log_changes(con, change_seq, producer, *args, **kwargs)

    monkeypatch.setattr(incremental, "log_changes", dies)


@pytest.mark.parametrize(("dies", "second_batch"), [(_dies_in_the_walk, 1),
                                                     (_dies_between_the_identity_map_and_its_log, 4)])
def test_a_build_that_fails_half_way_is_caught_up_by_the_next(tmp_path, monkeypatch, dies, second_batch):
    """The first arrival batch, built; then a later one (the fifth holds the late identity links,
    which move identifiers to other persons), whose build dies half way. What the models after the
    failure have not absorbed must still be rebuilt by the next build: after it every derived table
    equals a full build of the same raw."""
    simulated = tmp_path / "events.parquet"
    write_simulation(simulated, 120, 40, 3)
    events = pq.read_table(simulated)
    settings = load_settings(home=tmp_path / "home")
    batches = arrival_batches(events)
    for number in (0, second_batch):
        pq.write_table(batches[number], tmp_path / f"batch-{number}.parquet")
    load_file(settings, tmp_path / "batch-0.parquet")
    with warehouse.writer(settings) as con:
        build_plan.build(con, settings)
        map_before = con.execute("select * from intermediate.int_identity_map order by all").fetchall()
    load_file(settings, tmp_path / f"batch-{second_batch}.parquet")
    with monkeypatch.context() as patch:
        dies(patch)
        with warehouse.writer(settings) as con, pytest.raises(RuntimeError, match="killed"):
            build_plan.build(con, settings)
    with warehouse.writer(settings) as con:
        if dies is _dies_in_the_walk:
            logged = con.execute("select count(*) from meta.change_log where producer = "
                                 "'intermediate.int_touchpoints_stitched'").fetchall()[0][0]
            assert logged > 0  # stitching logged persons the walk has not absorbed
            walk_mode = dbt_project.build_mode(con, settings, "intermediate.int_journey_steps")
            assert not walk_mode.full and not walk_mode.reason.startswith("0 persons")
        else:
            # nothing of the identity map's build was committed without its log
            assert con.execute("select * from intermediate.int_identity_map order by all").fetchall() == map_before
        assert not dbt_project.build_mode(con, settings, "staging.stg_touchpoints").reason.startswith(
            ("no earlier", "a setting"))
        build_plan.build(con, settings)
    assert differing_from_a_full_build(settings, tmp_path / "full") == {}


def test_a_redelivered_copy_received_earlier_moves_the_event_to_its_identifiers(tmp_path):
    """Event `a` first arrives carrying anonymous_id x; a second copy, received earlier (a clock
    skewed at the source) and carrying y, arrives in the next load. Staging keeps the earliest
    received copy, so x no longer has any event: the incremental build must drop x from
    int_identifiers and its link to c1 (the identifiers of the copy replaced are logged as well as
    the new one's), exactly as a full build does."""
    import pandas as pd

    def csv(name: str, rows: list[tuple[str, str, str]]) -> str:
        pd.DataFrame([{"event_id": event_id, "occurred_at": "2025-03-01 10:00:00", "received_at": received_at,
                       "channel": "web", "event_type": "page_view", "customer_id": "c1", "anonymous_id": anonymous_id}
                      for event_id, received_at, anonymous_id in rows]).to_csv(tmp_path / name, index=False)
        return str(tmp_path / name)

    settings = load_settings(home=tmp_path / "home")
    load_file(settings, csv("first.csv", [("a", "2025-03-01 10:05:00", "x"), ("b", "2025-03-01 10:05:00", "z")]))
    with warehouse.writer(settings) as con:
        build_plan.build(con, settings)
    load_file(settings, csv("second.csv", [("a", "2025-03-01 10:01:00", "y")]))
    with warehouse.writer(settings) as con:
        assert not dbt_project.build_mode(con, settings, "intermediate.int_identifiers").full
        build_plan.build(con, settings)
        identifiers = con.execute("select identifier_type, identifier_value, n_events from intermediate.int_identifiers "
                                  "order by all").fetchall()
        links = con.execute("select identifier_value_b from intermediate.int_identity_links order by all").fetchall()
    assert identifiers == [("anonymous_id", "y", 1), ("anonymous_id", "z", 1), ("customer_id", "c1", 2)]
    assert links == [("y",), ("z",)]
    assert differing_from_a_full_build(settings, tmp_path / "full") == {}
