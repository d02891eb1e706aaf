"""Serving: analysts read the published copy (DuckDB file or Parquet) at any time, never a half-built
state; `journeys query` refuses writes; `journeys tables` documents every published table."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from journeys import publishing, warehouse
from journeys.cli import main as journeys_main
from journeys.cli import report_cmds
from journeys.settings import load_settings
from tests.sample_warehouse import publish_as_one_build


def tables_cli(*argv: str) -> int:
    """`journeys tables ...` through report_cmds' own registration."""
    parser = argparse.ArgumentParser(prog="journeys")
    report_cmds.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.run(args)


def write_build(settings, build_id: int, rows_per_build: int = 2000) -> None:
    """A 'build' whose two marts are consistent only together: build k has k*rows rows, all tagged k."""
    with warehouse.writer(settings) as con:
        con.execute("create schema if not exists marts")
        for table in ("probe_a", "probe_b"):
            con.execute(f"""create or replace table marts.{table} as
                            select {build_id} as build_id, i, repeat('x', 50) as padding
                            from range({build_id * rows_per_build}) t(i)""")
        con.execute(f"comment on table marts.probe_a is 'One row per probe row of build {build_id}'")


READER = textwrap.dedent("""
    import json, os, sys, time
    import duckdb
    published, parquet_link, stop_file, rows_per_build = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    stats = {"duckdb_reads": 0, "parquet_reads": 0, "errors": [], "max_open_query_s": 0.0, "builds_seen": []}
    def check(kind, counts, ids):
        if len(set(ids)) != 1 or any(n != ids[0] * rows_per_build for n in counts):
            stats["errors"].append(f"{kind}: inconsistent build: counts {counts}, build ids {ids}")
        elif ids[0] not in stats["builds_seen"]:
            stats["builds_seen"].append(ids[0])
    while not os.path.exists(stop_file):
        started = time.monotonic()
        try:
            con = duckdb.connect(published, read_only=True)
            rows = [con.execute(f"select count(*), min(build_id), max(build_id) from marts.{t}").fetchone()
                    for t in ("probe_a", "probe_b")]
            con.close()
            stats["max_open_query_s"] = max(stats["max_open_query_s"], time.monotonic() - started)
            check("duckdb", [r[0] for r in rows], [r[1] for r in rows] + [r[2] for r in rows])
            stats["duckdb_reads"] += 1
            folder = os.path.realpath(parquet_link)  # resolve once: one consistent set of files
            manifest = json.load(open(os.path.join(folder, "_manifest.json")))
            rows = [duckdb.execute(f"select count(*), min(build_id), max(build_id) from '{folder}/{t}/*.parquet'").fetchone()
                    for t in ("probe_a", "probe_b")]
            check("parquet", [r[0] for r in rows] + [manifest["tables"][t]["rows"] for t in ("probe_a", "probe_b")],
                  [r[1] for r in rows] + [r[2] for r in rows])
            stats["parquet_reads"] += 1
        except Exception as exc:
            stats["errors"].append(f"{type(exc).__name__}: {exc}")
    print(json.dumps(stats))
""")


def test_readers_never_wait_and_never_see_a_half_built_state(tmp_path):
    """A second process reads the published DuckDB file and Parquet set continuously while builds
    publish over and over: no error, no lock wait, and every read sees exactly one whole build."""
    settings = load_settings(home=tmp_path / "home")
    rows_per_build = 2000
    write_build(settings, 1, rows_per_build)
    publish_as_one_build(settings)
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.published_path),
                               str(publishing.parquet_link(settings)), str(stop), str(rows_per_build)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)
        for build_id in range(2, 14):
            write_build(settings, build_id, rows_per_build)  # the writer holds the working file meanwhile
            publish_as_one_build(settings)
        time.sleep(0.3)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    stats = json.loads(out)
    assert stats["errors"] == []
    assert stats["duckdb_reads"] >= 20 and stats["parquet_reads"] >= 20
    assert len(stats["builds_seen"]) >= 3, stats["builds_seen"]  # it really read across publishes
    assert stats["max_open_query_s"] < 2.0  # never queued behind the writer


def test_publish_exports_every_mart_to_parquet_atomically(tmp_path):
    """published/parquet is a symlink to a complete folder: one folder per marts table and a manifest;
    old folders are pruned to the previous two."""
    settings = load_settings(home=tmp_path / "home")
    for build_id in (1, 2, 3, 4):
        write_build(settings, build_id, 10)
        publish_as_one_build(settings)
    link = publishing.parquet_link(settings)
    assert link.is_symlink()
    assert sorted(p.name for p in link.iterdir()) == ["_manifest.json", "probe_a", "probe_b"]
    assert [p.name for p in (link / "probe_a").iterdir()] == ["data.parquet"]
    manifest = json.loads((link / "_manifest.json").read_text())
    entry = manifest["tables"]["probe_a"]
    assert (entry["rows"], entry["description"]) == (40, "One row per probe row of build 4")
    assert [(f["file"], f["partition"], f["rows"]) for f in entry["files"]] == [("probe_a/data.parquet", "data", 40)]
    assert duckdb.execute(f"select max(build_id) from '{link}/probe_b/*.parquet'").fetchone()[0] == 4
    assert len(list((settings.published_dir / "parquet-builds").iterdir())) == 3


def _journey_steps_build(settings, months: dict[str, int], note: str = "x") -> None:
    """marts.journey_steps (split by month in the export) with `months[m]` rows in month m, and a small mart."""
    with warehouse.writer(settings) as con:
        con.execute("create schema if not exists marts")
        con.execute("create or replace table marts.journey_steps (event_id varchar, occurred_at timestamp, note varchar)")
        for month, n in months.items():
            con.execute(f"insert into marts.journey_steps select '{month}-' || i, timestamp '{month}-01' + i * interval 1 hour, "
                        f"'{note}' from range({n}) t(i)")
        con.execute("insert into marts.journey_steps values ('no-time', null, 'x')")
        con.execute(f"create or replace table marts.summary as select {sum(months.values())} as n_steps")


def test_the_parquet_export_carries_descriptions_and_utc_timestamps(tmp_path):
    """Each file holds its table's description and each column's (pyarrow field metadata, as pandas
    and Polars read them), and the warehouse's UTC timestamps marked UTC-adjusted: pandas reads
    2025-01-01 05:00 as 05:00 UTC, not as a naive time; a table's empty file still has its schema."""
    import pandas as pd
    import pyarrow.parquet as pq

    settings = load_settings(home=tmp_path / "home")
    _journey_steps_build(settings, {"2025-01": 6})
    with warehouse.writer(settings) as con:
        con.execute("comment on table marts.journey_steps is 'One row per step.'")
        con.execute("comment on column marts.journey_steps.occurred_at is 'when it happened, UTC'")
        con.execute("create table marts.nothing (seen_at timestamp, n bigint)")
    publish_as_one_build(settings)
    link = publishing.parquet_link(settings)
    schema = pq.read_schema(link / "journey_steps" / "2025-01.parquet")
    assert schema.metadata[b"description"] == b"One row per step."
    assert schema.field("occurred_at").metadata == {b"description": b"when it happened, UTC"}
    assert schema.field("note").metadata is None  # no comment, no metadata
    assert str(schema.field("occurred_at").type) == "timestamp[us, tz=UTC]"
    frame = pd.read_parquet(link / "journey_steps" / "2025-01.parquet")
    assert frame["occurred_at"].min() == pd.Timestamp("2025-01-01 00:00", tz="UTC")
    assert frame["occurred_at"].max() == pd.Timestamp("2025-01-01 05:00", tz="UTC")
    empty = pq.read_table(link / "nothing" / "data.parquet")
    assert empty.num_rows == 0 and str(empty.schema.field("seen_at").type) == "timestamp[us, tz=UTC]"


def test_an_export_rewrites_only_the_partitions_that_changed(tmp_path):
    """Journey steps are exported by month of occurred_at. Publishing again after a change to one month
    rewrites that month (a new file) and hard-links the others from the previous export (the same inode);
    a change of content with the same row count is a change; a changed column type rewrites everything."""
    settings = load_settings(home=tmp_path / "home")
    _journey_steps_build(settings, {"2025-01": 30, "2025-02": 20, "2025-03": 10})
    publish_as_one_build(settings)
    link = publishing.parquet_link(settings)
    first = {p.name: p.stat().st_ino for p in (link / "journey_steps").iterdir()}
    assert sorted(first) == ["2025-01.parquet", "2025-02.parquet", "2025-03.parquet", "undated.parquet"]

    _journey_steps_build(settings, {"2025-01": 30, "2025-02": 20, "2025-03": 11})  # one more step in March
    publish_as_one_build(settings)
    second = {p.name: p.stat().st_ino for p in (link / "journey_steps").iterdir()}
    assert {name for name in first if second[name] == first[name]} == {"2025-01.parquet", "2025-02.parquet",
                                                                       "undated.parquet"}
    assert duckdb.execute(f"select count(*) from '{link}/journey_steps/2025-03.parquet'").fetchone()[0] == 11
    assert duckdb.execute(f"select count(*) from '{link}/journey_steps/*.parquet'").fetchone()[0] == 62
    assert duckdb.execute(f"select n_steps from '{link}/summary/data.parquet'").fetchone()[0] == 61

    with warehouse.writer(settings) as con:  # same rows per month, one value changed in February
        con.execute("update marts.journey_steps set note = 'y' where event_id = '2025-02-7'")
    publish_as_one_build(settings)
    third = {p.name: p.stat().st_ino for p in (link / "journey_steps").iterdir()}
    assert [name for name in first if third[name] != second[name]] == ["2025-02.parquet"]
    assert duckdb.execute(f"select note from '{link}/journey_steps/2025-02.parquet' "
                          "where event_id = '2025-02-7'").fetchone()[0] == "y"

    with warehouse.writer(settings) as con:
        con.execute("alter table marts.journey_steps alter note type varchar[] using [note]")
    publish_as_one_build(settings)
    fourth = {p.name: p.stat().st_ino for p in (link / "journey_steps").iterdir()}
    assert all(fourth[name] != third[name] for name in first)


@pytest.mark.parametrize("sql", [
    "create table marts.mine as select 1",
    "insert into marts.probe_a select * from marts.probe_a",
    "select 1; drop table marts.probe_a",
    "copy (select 1) to 'leak.csv'",
    "attach 'other.duckdb' as other",
])
def test_query_refuses_writes(tmp_path, monkeypatch, capsys, sql):
    """`journeys query` runs read-only statements only, and says why it refused."""
    settings = load_settings(home=tmp_path / "home")
    write_build(settings, 1, 10)
    publish_as_one_build(settings)
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    monkeypatch.chdir(tmp_path)
    assert journeys_main(["query", sql]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "read-only" in err
    assert not (tmp_path / "leak.csv").exists()
    assert journeys_main(["query", "select count(*) as n from marts.probe_a", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "10"]


def test_tables_lists_grain_and_column_descriptions(tmp_path, monkeypatch, capsys):
    """`journeys tables` shows each published table's grain (table comment) and column comments."""
    from tests.sample_warehouse import build_sample_warehouse

    settings = build_sample_warehouse(tmp_path / "home", customers=40, days=20)
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    assert tables_cli("tables", "--schema", "marts") == 0
    out = capsys.readouterr().out
    assert out.startswith("marts.")
    assert "marts.journeys  (" in out and "One row per journey" in out
    assert "journey_type" in out and "linear, branching, cyclical or complex" in out
    assert "raw.touchpoints" not in out
    assert tables_cli("tables", "--format", "json") == 0
    tables = {t["qualified"]: t for t in json.loads(capsys.readouterr().out)}
    assert {"raw.touchpoints", "staging.stg_touchpoints", "marts.journeys", "marts.attribution"} <= set(tables)
    undocumented = [name for name, t in tables.items() if name.startswith("marts.") and not t["description"]]
    assert undocumented == []
