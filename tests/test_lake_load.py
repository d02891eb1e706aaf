"""`journeys load` with the Spark engine writes the raw lake with the very rules of the warehouse:
the same file, loaded both ways, gives the same rows and the same dead letters with the same
reasons, and no raw e-mail address or phone number reaches any file of the lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import duckdb

from journeys import warehouse
from journeys.pipelines import lake
from journeys.pipelines.lake_import import import_lake
from journeys.pipelines.loader import load_file

HOSTILE_FILE = b"".join(json.dumps(o).encode() + b"\n" for o in [
    {"event_id": "ok-1", "occurred_at": "2025-01-01T10:00:00Z", "channel": "web", "event_type": "page_view",
     "customer_id": "c1"},
    {"event_id": "ok-2", "occurred_at": "2025-01-02T23:59:59Z", "channel": "store", "event_type": "purchase",
     "customer_id": "c1", "revenue": 12.5, "currency": "EUR"},
    {"event_id": "pii", "occurred_at": "2025-01-02T10:00:00Z", "channel": "email", "event_type": "email_open",
     "anonymous_id": "a1", "contact_email": "Jane.Doe@Example.com", "mobile": "+44 7700 900123"},
    {"event_id": "neg", "occurred_at": "2025-01-01T10:00:00Z", "channel": "web", "event_type": "purchase",
     "customer_id": "c2", "revenue": -5},
    {"event_id": "year-1", "occurred_at": "0001-01-01T00:00:00Z", "channel": "web", "event_type": "page_view",
     "customer_id": "c3"},
    {"event_id": "where", "occurred_at": "2025-01-01T10:00:00Z", "channel": "fax", "event_type": "page_view",
     "customer_id": "c4", "email": "leak@example.org"},
    {"event_id": "big", "occurred_at": "2025-01-01T10:00:00Z", "channel": "web", "event_type": "page_view",
     "customer_id": "c5", "nps_score": 2**63},
]) + b"{not json at all, and bob@example.net\n"

ROW_COLUMNS = ("event_id, occurred_at, received_at, channel, event_type, customer_id, anonymous_id, email_hash, "
               "phone_hash, revenue, currency, nps_score, properties, source_topic, source_partition, source_offset")


def test_a_lake_load_keeps_and_rejects_exactly_what_the_warehouse_does(settings, tmp_path):
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(HOSTILE_FILE)
    in_warehouse = load_file(settings, path)
    env = {**os.environ, "JOURNEYS_HOME": str(settings.home), "JOURNEYS_ENGINE": "spark"}
    done = subprocess.run([sys.executable, "-m", "journeys.cli", "load", "--file", str(path)], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert f"committed to the lake {settings.lake_path}" in done.stdout
    assert (in_warehouse.n_consumed, in_warehouse.n_loaded, in_warehouse.n_dead_lettered) == (8, 3, 5)

    warehouse = duckdb.connect(str(settings.warehouse_path), read_only=True)
    lake_con = duckdb.connect()
    query = f"select {ROW_COLUMNS} from {{}} order by event_id"
    assert (lake_con.execute(query.format(f"({lake.touchpoints_sql(settings.lake_path)})")).fetchall()
            == warehouse.execute(query.format("raw.touchpoints")).fetchall())
    dead = "select source_topic, source_offset, reason, payload from {} order by source_offset"
    lake_dead = lake_con.execute(dead.format(f"({lake.dead_letters_sql(settings.lake_path)})")).fetchall()
    assert lake_dead == warehouse.execute(dead.format("raw.dead_letters")).fetchall()
    assert len(lake_dead) == 5
    # the event_date partition is the UTC date of occurred_at (23:59:59 stays on the 2nd)
    assert lake_con.execute(f"select event_id, event_date::varchar from ({lake.touchpoints_sql(settings.lake_path)}) "
                            "where event_id = 'ok-2'").fetchall() == [("ok-2", "2025-01-02")]
    commits = lake_con.execute(f"select n_loaded, n_dead_lettered from ({lake.commits_sql(settings.lake_path)})").fetchall()
    assert commits == [(3, 5)]
    for file in settings.lake_path.rglob("*"):
        if file.is_file():
            data = file.read_bytes().lower()
            for secret in (b"jane.doe@example.com", b"leak@example.org", b"bob@example.net", b"7700 900123",
                           b"7700900123"):
                assert secret not in data, f"{secret!r} reached {file}"


def test_the_lake_is_mirrored_into_raw_once_commit_by_commit(settings, tmp_path):
    """A build's import brings the lake's new commits into the warehouse's raw layer: the same
    rows and dead letters, each commit once however often it runs; a commit whose files are not
    all in place waits for the next import."""
    lake_settings = settings.replace(engine="spark")
    path = tmp_path / "hostile.jsonl"
    path.write_bytes(HOSTILE_FILE)
    load_file(lake_settings, path)
    with warehouse.writer(lake_settings) as con:
        first = import_lake(con, lake_settings.lake_path)
        again = import_lake(con, lake_settings.lake_path)
        mirrored = con.execute(f"select {ROW_COLUMNS} from raw.touchpoints order by event_id").fetchall()
        n_dead = con.execute("select count(*) from raw.dead_letters").fetchone()[0]
    assert (first.n_commits, first.n_loaded, first.n_dead_lettered) == (1, 3, 5)
    assert (again.n_commits, again.n_loaded) == (0, 0)
    assert mirrored == duckdb.connect().execute(
        f"select {ROW_COLUMNS} from ({lake.touchpoints_sql(lake_settings.lake_path)}) order by event_id").fetchall()
    assert n_dead == 5

    before = set(lake.committed_sources(lake_settings.lake_path))
    load_file(lake_settings, path)  # a second load, then one of its files "still being renamed"
    [new_source] = set(lake.committed_sources(lake_settings.lake_path)) - before
    second = lake.SourceLog(lake_settings.lake_path, new_source).last()
    moved = lake_settings.lake_path / second.final_paths[0]
    moved.rename(moved.with_suffix(".moving"))
    with warehouse.writer(lake_settings) as con:
        waiting = import_lake(con, lake_settings.lake_path)
        moved.with_suffix(".moving").rename(moved)
        landed = import_lake(con, lake_settings.lake_path)
        n_rows = con.execute("select count(*) from raw.touchpoints").fetchone()[0]
    assert (waiting.n_commits, waiting.n_waiting) == (0, 1)
    assert (landed.n_commits, landed.n_loaded, n_rows) == (1, 3, 6)
