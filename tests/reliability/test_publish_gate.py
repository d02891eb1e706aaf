"""Publish only what passed: ingest and load publish raw only; derived layers only by a whole build whose
blocking checks passed; two builds never interleave; a killed or out-of-space publish leaves the previous
published state and no temporary file behind."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pandas as pd
import pytest

from journeys import publishing, warehouse
from journeys.build import build_warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from tests.helpers import file_rows, raw_part_rows, rows_differing_from_raw_parts

pytestmark = pytest.mark.slow


def published(settings, sql: str):
    return file_rows(settings.published_path, sql)


def marts_digest(settings) -> dict[str, str]:
    """A digest of every marts table's content in the published file, and its build row."""
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()]
        digest = {t: hashlib.sha256(con.execute(f"select * from marts.{t} order by all").df().to_csv().encode()).hexdigest()
                  for t in tables}
        digest["meta.published_build"] = str(con.execute("select * from meta.published_build").fetchall())
        return digest
    finally:
        con.close()


def csv_rows(path, event_ids, day: str = "2025-03-20") -> None:
    pd.DataFrame({"event_id": event_ids, "occurred_at": [f"{day} 10:00:00"] * len(event_ids), "channel": "web",
                  "event_type": "page_view", "customer_id": "late-c"}).to_csv(path, index=False)


@pytest.fixture
def built(tmp_path, monkeypatch):
    """A warehouse loaded from a small simulation and built once (published) by `journeys build`'s function."""
    monkeypatch.delenv("JOURNEYS_AS_OF", raising=False)
    settings = load_settings(home=tmp_path / "home")
    write_simulation(tmp_path / "events.parquet", 60, 30, seed=3)
    load_file(settings, tmp_path / "events.parquet")
    assert build_warehouse(settings).success
    return settings


def test_a_failed_build_then_ingest_and_load_leave_the_published_build_unchanged(built, tmp_path, capsys):
    """A build fails its blocking checks; a load follows: the published marts and build row are exactly the
    last good build's, and only raw moved on (the load's rows are there)."""
    from journeys.cli import main as journeys_main

    before = marts_digest(built)
    with warehouse.writer(built) as con:  # a row that bypassed validation makes staging's check fail
        con.execute("""insert into raw.touchpoints by name select * replace ('from-the-future' as event_id,
                       now()::timestamp + interval 5 day as occurred_at) from raw.touchpoints limit 1""")
    assert not build_warehouse(built).success
    csv_rows(tmp_path / "more.csv", ["late-1", "late-2"])
    os.environ["JOURNEYS_HOME"] = str(built.home)
    try:
        assert journeys_main(["load", "--file", str(tmp_path / "more.csv")]) == 0
    finally:
        del os.environ["JOURNEYS_HOME"]
    # the row inserted behind validation's back and the two loaded: raw since the last good build's publish
    assert "published raw layer: 3 new touchpoints appended" in capsys.readouterr().out
    assert marts_digest(built) == before
    assert raw_part_rows(built, "select count(*) from parts where event_id like 'late-%'") == [(2,)]
    assert rows_differing_from_raw_parts(built) == 0  # every working row once, none twice
    # the published file is the last good build's, raw included
    assert published(built, "select count(*) from raw.touchpoints where event_id like 'late-%'") == [(0,)]
    assert published(built, "select count(*) from staging.stg_touchpoints where event_id like 'late-%'") == [(0,)]


def test_a_partial_run_is_refused_at_publish(built):
    """Publishing a set of tables not all built by the publishing run is refused, naming a stale table."""
    with pytest.raises(publishing.PublishError, match="not built by run other-run"):
        publishing.publish_build(built, "other-run", ["staging.stg_touchpoints", "marts.journeys"])


BUILD = textwrap.dedent("""
    import sys
    from journeys.build import build_warehouse
    from journeys.settings import load_settings
    result = build_warehouse(load_settings(), echo=print)
    sys.exit(0 if result.success else 1)
""")


def test_two_builds_with_different_as_of_at_once_never_interleave(built):
    """Two real build processes started together (as_of 2025-03-10 and the default): the second waits for the
    first; each reports what it published; the published file is wholly one build (one run, one as_of)."""
    env = {**os.environ, "JOURNEYS_HOME": str(built.home)}
    first = subprocess.Popen([sys.executable, "-c", BUILD], env={**env, "JOURNEYS_AS_OF": "2025-03-10"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen([sys.executable, "-c", BUILD], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    outs = [p.communicate(timeout=600) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], [(out[-3000:], err[-3000:]) for out, err in outs]
    reported = [next(line for line in out.splitlines() if line.startswith("build succeeded; published run")) for out, _ in outs]
    runs = [line.split("published run ")[1].split()[0] for line in reported]
    assert runs[0] != runs[1]
    assert "(as_of 2025-03-10 23:59:59.999999)" in reported[0]
    (run_id, as_of), = published(built, "select run_id, as_of from meta.published_build")
    assert run_id in runs
    # every derived table in the published file was built by that one run, with that as_of
    assert published(built, "select count(distinct run_id), count(distinct as_of), min(run_id) from meta.build_steps") == [
        (1, 1, run_id)]
    latest_event = published(built, "select max(occurred_at) from staging.stg_touchpoints")[0][0]
    assert latest_event <= as_of


def test_killed_publishes_leave_the_last_state_readable_and_no_temp_files(built, tmp_path):
    """A process publishing over and over (the raw parts written again from the first row, then the build) is
    kill -9'd at random moments, 6 times: the published file always opens with its build intact, and the next
    publish sweeps what the dead processes left and leaves the raw parts equal to the working raw layer."""
    import random

    rng = random.Random(5)
    loop = textwrap.dedent("""
        import shutil
        import duckdb
        from journeys import publishing, raw_export
        from journeys.settings import load_settings
        s = load_settings()
        con = duckdb.connect(str(s.warehouse_path), read_only=True)
        (run, tables), = con.execute("select run_id, list(table_name) from meta.build_steps group by run_id").fetchall()
        con.close()
        while True:
            shutil.rmtree(raw_export.raw_dir(s) / "touchpoints", ignore_errors=True)
            publishing.publish_raw(s)
            publishing.publish_build(s, run, tables)
    """)
    env = {**os.environ, "JOURNEYS_HOME": str(built.home)}

    def build_published() -> dict[str, str]:  # the marts and which build: the same whenever it is published again
        digest = marts_digest(built)
        digest["meta.published_build"] = str(published(built, "select run_id, as_of from meta.published_build"))
        return digest

    before = build_published()
    for _ in range(6):
        process = subprocess.Popen([sys.executable, "-c", loop], env=env, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(1.5, 3.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert build_published() == before
    publishing.publish_raw(built)
    leftovers = [p.name for p in built.published_dir.rglob(".*")]
    assert leftovers == []
    assert build_published() == before
    assert rows_differing_from_raw_parts(built) == 0


def test_a_full_disk_fails_the_publish_cleanly_and_the_load_reports_what_it_committed(tmp_path):
    """On a 12 MB filesystem: a first load publishes; a bigger second load commits to the working file but its
    publish runs out of space: the command says so and exits 1, the published raw parts are byte-identical,
    no partial part is left, and raw holds exactly what the load reported."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root) to fill a disk for real")
    try:
        home = disk / "home"
        env = {**os.environ, "JOURNEYS_HOME": str(home)}
        csv_rows(tmp_path / "small.csv", [f"s{i}" for i in range(1000)])
        csv_rows(tmp_path / "big.csv", [f"b{i}-{os.urandom(24).hex()}" for i in range(200_000)])  # incompressible
        first = subprocess.run([sys.executable, "-m", "journeys.cli", "load", "--file", str(tmp_path / "small.csv")],
                               env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        settings = load_settings(home=home)

        def published_files() -> dict[str, str]:
            return {str(p.relative_to(settings.published_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
                    for p in sorted(settings.published_dir.rglob("*")) if p.is_file()}

        published_before = published_files()
        assert raw_part_rows(settings, "select count(*) from parts") == [(1000,)]
        second = subprocess.run([sys.executable, "-m", "journeys.cli", "load", "--file", str(tmp_path / "big.csv")],
                                env=env, capture_output=True, text=True)
        assert second.returncode == 1
        assert published_files() == published_before  # no partial part either
        con = duckdb.connect(str(settings.warehouse_path), read_only=True)
        n_big = con.execute("select count(*) from raw.touchpoints where event_id like 'b%'").fetchone()[0]
        con.close()
        if "committed to the working warehouse" in second.stdout:  # the load itself fitted, its publish did not
            assert f"loaded {n_big:,}" in second.stdout and "publishing failed" in second.stderr
            assert "unchanged" in second.stderr
        else:  # the load itself ran out of space: nothing of it was committed
            assert n_big == 0 and second.stderr.strip()
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_parquet_folder_in_the_way_fails_the_publish_with_both_halves_unchanged(built):
    """published/parquet replaced by a real folder: the build fails, and the DuckDB file still holds the
    previous build (it used to be replaced before the Parquet link failed, leaving the two out of step)."""
    before = published(built, "select run_id from meta.published_build")
    link = publishing.parquet_link(built)
    target = link.resolve()
    link.unlink()
    link.mkdir()
    result = build_warehouse(built)
    assert not result.success
    assert any("not the symlink publishing manages" in step for step in result.failed_steps)
    assert published(built, "select run_id from meta.published_build") == before
    link.rmdir()
    link.symlink_to(target)
