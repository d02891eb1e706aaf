"""Quality checks on staging: an as_of that leaves no data (blocking), an as_of long after the data,
and one event_id delivered with different content (warnings).

Tiny raw tables in real DuckDB files, staged by the real transforms, validated by the real Great
Expectations suites; then the same checks as Dagster asset checks and through `journeys build`."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from journeys.quality.gates import ERROR, WARN, run_gates
from journeys.quality.suites import gates_for
from journeys.settings import load_settings
from tests.helpers import build, events, settings, warehouse

STAGING = "staging.stg_touchpoints"


def check(con, name: str, **overrides):
    """The result of one staging gate, with these settings."""
    (result,) = run_gates(con, [g for g in gates_for(STAGING) if g.name == name], settings(**overrides))
    return result


def spanning_jan_to_apr(con) -> None:
    """Three events: 2025-01-01 09:00, 2025-02-15 12:00 and 2025-04-30 18:00."""
    events(con, [{"occurred_at": "2025-01-01 09:00"}, {"occurred_at": "2025-02-15 12:00"},
                 {"occurred_at": "2025-04-30 18:00", "event_type": "purchase", "revenue": 20.0}])


# ---- as_of before every event ---------------------------------------------------------------------

def test_as_of_before_every_event_blocks_with_the_range_of_raw(tmp_path):
    """as_of 1970-01-01 stages nothing of 3 raw events: an ERROR naming as_of and raw's span."""
    con = warehouse(tmp_path)
    spanning_jan_to_apr(con)
    build(con, as_of="1970-01-01")
    assert con.execute(f"select count(*) from {STAGING}").fetchone() == (0,)
    result = check(con, "as_of_not_before_every_event", as_of="1970-01-01")
    assert not result.passed and result.severity == ERROR
    assert result.message == ("as_of 1970-01-01T23:59:59 is before every event "
                              "(raw occurred_at spans 2025-01-01 … 2025-04-30): nothing to build")
    assert result.metadata()["message"] == result.message
    assert (result.rows_checked, result.failing_rows) == (1, 1)
    assert result.line().endswith("FAILED (ERROR) — " + result.message)


def test_as_of_inside_the_data_passes(tmp_path):
    """as_of 2025-01-01 keeps the first event (09:00 that day): something to build."""
    con = warehouse(tmp_path)
    spanning_jan_to_apr(con)
    build(con, as_of="2025-01-01")
    assert con.execute(f"select count(*) from {STAGING}").fetchone() == (1,)
    assert check(con, "as_of_not_before_every_event", as_of="2025-01-01").passed


def test_an_empty_raw_layer_is_not_an_as_of_problem(tmp_path):
    """No events at all: nothing was cut away, so the check passes (and says nothing)."""
    con = warehouse(tmp_path)
    events(con, [])
    build(con)
    result = check(con, "as_of_not_before_every_event")
    assert result.passed and result.message == ""


# ---- as_of long after the latest event ----------------------------------------------------------

def test_as_of_more_than_churn_days_after_the_latest_event_warns(tmp_path):
    """Latest event 2025-04-30 18:00, as_of 2025-08-15 23:59:59.999999: just under 107.25 days (shown 107.2) > 90,
    so everyone looks churned."""
    con = warehouse(tmp_path)
    spanning_jan_to_apr(con)
    build(con, as_of="2025-08-15")
    result = check(con, "as_of_not_long_after_latest_event", as_of="2025-08-15")
    assert not result.passed and result.severity == WARN
    assert result.message == ("as_of 2025-08-15T23:59:59 is 107.2 days after the latest event (2025-04-30T18:00:00), "
                              "more than churn_inactive_days (90): every customer looks churned")


def test_as_of_within_churn_days_of_the_latest_event_passes(tmp_path):
    """as_of 2025-07-28 (end of day) is just under 89.25 days after 2025-04-30 18:00: within 90; not within 60."""
    con = warehouse(tmp_path)
    spanning_jan_to_apr(con)
    build(con, as_of="2025-07-28")
    assert check(con, "as_of_not_long_after_latest_event", as_of="2025-07-28").passed
    stricter = check(con, "as_of_not_long_after_latest_event", as_of="2025-07-28",
                     churn_inactive_days=60, at_risk_inactive_days=30)
    assert not stricter.passed and "89.2 days" in stricter.message and "churn_inactive_days (60)" in stricter.message


# ---- conflicting duplicates -----------------------------------------------------------------------

def test_conflicting_redeliveries_are_counted_and_sampled_with_the_columns_that_differ(tmp_path):
    """Of 5 redelivered event_ids, 3 carry different content: counted (a warning) with what differs;
    copies differing only in delivery columns, in what staging trims, or in map key order are not."""
    con = warehouse(tmp_path)
    at = "2025-03-01 10:00"
    events(con, [
        # same content, different delivery: received, ingested, topic, partition, offset, load
        {"event_id": "same", "occurred_at": at, "received_at": "2025-03-01 10:01", "load_id": "l1", "source_offset": 1},
        {"event_id": "same", "occurred_at": at, "received_at": "2025-03-01 10:05", "load_id": "l2", "source_offset": 7,
         "source_topic": "touchpoints.other", "source_partition": 2, "ingested_at": "2025-03-02 00:00"},
        # what staging normalises away: case and spaces, empty strings, the order of property keys
        {"event_id": "trimmed", "occurred_at": at, "channel": "web", "currency": "EUR", "campaign": None,
         "properties": {"a": "1", "b": "2"}},
        {"event_id": " trimmed ", "occurred_at": at, "channel": " Web ", "currency": " eur", "campaign": "",
         "properties": {"b": "2", "a": "1"}},
        # real conflicts
        {"event_id": "price", "occurred_at": at, "event_type": "purchase", "revenue": 20.0},
        {"event_id": "price", "occurred_at": at, "event_type": "purchase", "revenue": 25.0},
        {"event_id": "moved", "occurred_at": at, "campaign": "spring"},
        {"event_id": "moved", "occurred_at": at, "campaign": "spring"},
        {"event_id": "moved", "occurred_at": "2025-03-01 11:00", "campaign": "summer", "customer_id": "c2"},
        {"event_id": "props", "occurred_at": at, "properties": {"persona": "b2b"}},
        {"event_id": "props", "occurred_at": at, "properties": {"persona": "b2c"}},
        {"event_id": "once", "occurred_at": at},
    ])
    build(con)
    assert con.execute(f"select count(*) from {STAGING}").fetchone() == (6,)  # each kept once, as before
    result = check(con, "redeliveries_have_the_same_content")
    assert not result.passed and result.severity == WARN
    assert (result.rows_checked, result.failing_rows) == (5, 3)
    sample = result.sample.splitlines()
    assert sample[0].split() == ["event_id", "n_copies", "n_content_versions", "differing_columns"]
    # most versions first, then most copies, then by id
    assert [line.split(None, 3) for line in sample[1:]] == [
        ["moved", "3", "2", "occurred_at, customer_id, campaign"],
        ["price", "2", "2", "revenue"],
        ["props", "2", "2", "properties"],
    ]


def test_no_redeliveries_or_identical_ones_pass(tmp_path):
    """Two identical copies of one event and a single other: nothing conflicts."""
    con = warehouse(tmp_path)
    at = "2025-03-01 10:00"
    events(con, [{"event_id": "e1", "occurred_at": at, "load_id": "a"}, {"event_id": "e1", "occurred_at": at, "load_id": "b"},
                 {"event_id": "e2", "occurred_at": at}])
    build(con)
    result = check(con, "redeliveries_have_the_same_content")
    assert result.passed and (result.rows_checked, result.failing_rows) == (1, 0)


def test_a_conflict_only_after_as_of_is_not_reported(tmp_path):
    """An event_id staging never sees (all its copies after as_of) is not this build's concern."""
    con = warehouse(tmp_path)
    events(con, [{"event_id": "late", "occurred_at": "2025-06-01 10:00", "revenue": 1.0, "event_type": "purchase"},
                 {"event_id": "late", "occurred_at": "2025-06-01 10:00", "revenue": 2.0, "event_type": "purchase"},
                 {"event_id": "early", "occurred_at": "2025-01-01 10:00"}])
    build(con, as_of="2025-03-01")
    assert check(con, "redeliveries_have_the_same_content", as_of="2025-03-01").passed


# ---- as Dagster asset checks and through `journeys build` ----------------------------------------

def _materialize(home: Path, as_of: str | None):
    from tests.helpers import journey_tables, materialize_tables

    return materialize_tables(home, journey_tables(), as_of=as_of)


def test_dagster_as_of_before_every_event_blocks_downstream_and_conflicts_only_warn(tmp_path):
    """A real materialization: the ERROR check stops everything reading staging; with a sane as_of
    the conflict is a WARN evaluation and the run succeeds."""
    home = tmp_path / "home"
    configured = load_settings(env={"JOURNEYS_CONFIG": ""}, home=home)
    from journeys import warehouse as gateway

    with gateway.writer(configured) as con:
        spanning_jan_to_apr(con)
        events(con, [{"event_id": "e3", "occurred_at": "2025-04-30 18:00", "event_type": "purchase", "revenue": 25.0}])

    blocked = _materialize(home, "1970-01-01")
    assert not blocked.success
    failing = {e.check_name: e for e in blocked.get_asset_check_evaluations() if not e.passed}
    assert set(failing) == {"as_of_not_before_every_event"}
    assert failing["as_of_not_before_every_event"].severity.value == "ERROR"
    assert failing["as_of_not_before_every_event"].metadata["message"].value == (
        "as_of 1970-01-01T23:59:59 is before every event (raw occurred_at spans 2025-01-01 … 2025-04-30): nothing to build")
    built = {tuple(e.event_specific_data.materialization.asset_key.path) for e in blocked.get_asset_materialization_events()}
    assert ("marts", "journeys") not in built and ("staging", "stg_touchpoints") in built

    warned = _materialize(home, None)
    assert warned.success
    failing = {e.check_name: e for e in warned.get_asset_check_evaluations() if not e.passed}
    assert set(failing) == {"redeliveries_have_the_same_content"}
    evaluation = failing["redeliveries_have_the_same_content"]
    assert evaluation.severity.value == "WARN"
    assert evaluation.metadata["failing_rows"].value == 1 and evaluation.metadata["rows_checked"].value == 1
    assert "e3" in evaluation.metadata["sample"].value and "revenue" in evaluation.metadata["sample"].value


TINY_CSV = """event_id,occurred_at,channel,event_type,customer_id,revenue,currency
t1,2025-01-01T09:00:00Z,web,page_view,c1,,
t2,2025-01-20T10:00:00Z,web,product_view,c1,,
t3,2025-02-01T11:00:00Z,email,email_open,c2,,
t4,2025-03-15T12:00:00Z,web,purchase,c1,42.5,EUR
t5,2025-04-30T18:00:00Z,store,purchase,c2,10,EUR
"""


def _journeys(*args: str, home: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JOURNEYS_")}
    clean.update(JOURNEYS_HOME=str(home), **env)
    return subprocess.run([sys.executable, "-m", "journeys.cli", *args], capture_output=True, text=True,
                          env=clean, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_journeys_build_with_as_of_before_every_event_exits_1_and_keeps_the_published_warehouse(tmp_path):
    """`journeys load` a 5-row CSV, a good `journeys build`, then JOURNEYS_AS_OF=1970-01-01: exit 1 with
    the as_of message, and the published warehouse is the good build's, byte for byte."""
    home = tmp_path / "home"
    (tmp_path / "tiny.csv").write_text(TINY_CSV)
    loaded = _journeys("load", "--file", str(tmp_path / "tiny.csv"), home=home, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    good = _journeys("build", home=home, cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    published = home / "published" / "warehouse.duckdb"
    before = hashlib.sha256(published.read_bytes()).hexdigest()

    bad = _journeys("build", home=home, cwd=tmp_path, JOURNEYS_AS_OF="1970-01-01")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert ("as_of 1970-01-01T23:59:59 is before every event (raw occurred_at spans 2025-01-01 … 2025-04-30): "
            "nothing to build") in bad.stdout
    assert "ERROR staging.stg_touchpoints: as_of_not_before_every_event" in bad.stdout
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before
