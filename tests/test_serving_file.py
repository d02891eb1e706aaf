"""The serving file is brought up to the working file by what changed, and is always equal to it.

The five arrival batches of tests/test_incremental.py (late store events, late identity links,
redeliveries) are built and published one after the other. After every publish, every table of the
published file holds exactly the working file's rows; from the second publish on (the first one
writes the first serving file, the second seeds the other one with a file copy of it), the standby
is brought up in place and replaces a part of the rows of the incremental tables, not all of them.
Then each reason not to bring the standby up in place: a reader still reading it or someone writing
to it (a copy of the published file instead), and a changed table, a working file restored from an
older copy and `journeys build --full` (the working file copied whole).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import duckdb
import pyarrow.parquet as pq
import pytest

from journeys import publishing, serving_file, warehouse
from journeys.pipelines.loader import load_file
from journeys.pipelines.sim_files import write_simulation
from journeys.settings import load_settings
from journeys.transforms import build_plan, incremental
from tests.sample_warehouse import publish_as_one_build
from tests.test_incremental import arrival_batches

pytestmark = pytest.mark.slow


BOOKKEEPING = ("meta.change_log", "meta.change_log_readers")
"""Written in the working file after the standby is brought up (the standby's own state, and the
log pruned above it): the serving file holds them as of just before."""


def differences(settings) -> dict[str, tuple[int, int]]:
    """Per table of either file (serving-only tables and the log's bookkeeping aside): the rows only
    the published file has, and those only the working file has, where there are any; and the
    comments that differ."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{settings.published_path}' as published (read_only)")
        con.execute(f"attach '{settings.warehouse_path}' as working (read_only)")
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select distinct schema_name, table_name from duckdb_tables() where database_name in ('published', 'working')"
        ).fetchall()} - set(serving_file.SERVING_ONLY) - set(BOOKKEEPING)
        found = {}
        for table in sorted(tables):
            try:
                extra = con.execute(f"select count(*) from (select * from published.{table} except all "
                                    f"select * from working.{table})").fetchone()[0]
                missing = con.execute(f"select count(*) from (select * from working.{table} except all "
                                      f"select * from published.{table})").fetchone()[0]
            except duckdb.CatalogException:
                extra = missing = -1  # in one file only
            if extra or missing:
                found[table] = (extra, missing)
        for kind, catalog, name in (("tables", "duckdb_tables()", "table_name"),
                                    ("columns", "duckdb_columns()", "table_name || '.' || column_name")):
            described = [set(con.execute(f"select schema_name, {name}, comment from {catalog} where database_name = ? "
                                         "and schema_name || '.' || table_name not in ?",
                                         [database, list(serving_file.SERVING_ONLY)]).fetchall())
                         for database in ("published", "working")]
            if described[0] != described[1]:
                found[f"comments of {kind}"] = (len(described[0] - described[1]), len(described[1] - described[0]))
        return found
    finally:
        con.close()


def incremental_rows(settings) -> int:
    with warehouse.writer(settings) as con:
        return sum(con.execute(f"select count(*) from {t}").fetchone()[0] for t in incremental.INCREMENTAL_MODELS)


def build_and_publish(settings) -> publishing.Published:
    with warehouse.writer(settings) as con:
        build_plan.build(con, settings)
    return publish_as_one_build(settings)


@pytest.fixture(scope="module")
def published_in_batches(tmp_path_factory):
    """(settings, per publish: how the serving file was brought up, the differences after it, the
    rows of the incremental tables)."""
    root = tmp_path_factory.mktemp("serving")
    simulated = root / "events.parquet"
    write_simulation(simulated, 250, 60, 5)
    settings = load_settings(home=root / "home")
    publishes = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(serving_file, "COPY_ABOVE_CHANGED_SHARE", float("inf"))  # every batch changes many of 250 persons
        patch.setattr(serving_file, "FORMAT_COPY_ABOVE_CHANGED_SHARE", float("inf"))
        for number, batch in enumerate(arrival_batches(pq.read_table(simulated))):
            path = root / f"batch-{number}.parquet"
            pq.write_table(batch, path)
            load_file(settings, path)
            published = build_and_publish(settings)
            publishes.append((published.how, differences(settings), incremental_rows(settings)))
    return settings, publishes


@pytest.fixture(autouse=True)
def in_place_whatever_changed(monkeypatch):
    """The tests below break one thing each; the share of persons changed is not it."""
    monkeypatch.setattr(serving_file, "COPY_ABOVE_CHANGED_SHARE", float("inf"))
    monkeypatch.setattr(serving_file, "FORMAT_COPY_ABOVE_CHANGED_SHARE", float("inf"))


def test_every_publish_equals_the_working_file_and_the_later_ones_replace_only_what_changed(published_in_batches):
    settings, publishes = published_in_batches
    assert [diff for _, diff, _ in publishes] == [{}] * 5
    hows = [how for how, _, _ in publishes]
    assert [how.split(" in ")[0] for how in hows] == (
        ["copied whole", "a copy of the published file brought up"] + ["brought up"] * 3), hows
    assert hows[0].endswith("no standby file yet") and "(no standby file yet)" in hows[1]
    for how, _, rows in publishes[1:]:
        by_key = re.search(r"(\d+) tables by key \(([\d,]+) rows replaced\)", how)
        appended = int(re.search(r"([\d,]+) raw rows appended", how)[1].replace(",", ""))
        assert by_key and int(by_key[1]) == len(incremental.INCREMENTAL_MODELS), how
        assert 0 < int(by_key[2].replace(",", "")) < rows, how  # some rows, not every row of those tables
        assert appended > 0, how  # each batch's raw rows, by position
    # the link points at the other file after each publish: five publishes end on the first one
    assert os.readlink(settings.published_path) == os.path.join("serving", "a", "warehouse.duckdb")
    with duckdb.connect(str(settings.published_path), read_only=True) as con:
        assert con.execute("select count(*) from meta.published_build").fetchone()[0] == 1
        assert con.execute("select current_database()").fetchone()[0] == "warehouse"  # whichever file: one name


def fresh_copy(source, root, name: str):
    """A copy of the home (working file, published folder with its links) to break on its own."""
    shutil.copytree(source.home, root / name, symlinks=True)
    return load_settings(home=root / name)


READER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    before = con.execute("select count(*), max(run_id) from meta.published_build, marts.journey_steps").fetchone()
    print("open", flush=True)
    sys.stdin.readline()
    after = con.execute("select count(*), max(run_id) from meta.published_build, marts.journey_steps").fetchone()
    print(before == after, flush=True)
""")


def test_a_reader_still_on_the_standby_gets_it_copied_around_it(published_in_batches, tmp_path):
    """A reader that opened the file before the last swap still reads it: the next publish writes a new
    file under the standby's name instead (a copy of the published file, brought up in place), and
    the reader's view does not change under it."""
    settings = fresh_copy(published_in_batches[0], tmp_path, "home")
    standby = serving_file.slot_path(settings, serving_file.standby_slot(settings))
    reader = subprocess.Popen([sys.executable, "-c", READER, str(standby)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "open"
        published = build_and_publish(settings)
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "True"
    finally:
        reader.kill()
        reader.wait()
    assert published.how.startswith("a copy of the published file brought up in place"), published.how
    assert "a reader still has the standby open" in published.how
    assert differences(settings) == {}
    assert build_and_publish(settings).how.startswith("brought up in place")  # the other file, free


def test_a_changed_table_restored_working_file_or_full_build_copies_whole(published_in_batches, tmp_path):
    settings = fresh_copy(published_in_batches[0], tmp_path, "changed")
    with warehouse.writer(settings) as con:
        con.execute("create table marts.analyst_notes as select 1 as note")
    published = build_and_publish(settings)
    assert ("the tables changed since (e.g. table marts.analyst_notes, was: none, "
            "now: CREATE TABLE marts.analyst_notes(note INTEGER);)") in published.how, published.how
    assert differences(settings) == {}

    settings = fresh_copy(published_in_batches[0], tmp_path, "restored")
    older = tmp_path / "older.duckdb"
    shutil.copyfile(settings.warehouse_path, older)
    build_and_publish(settings)  # brings up the standby: the older working file does not know that state
    shutil.copyfile(older, settings.warehouse_path)
    build_and_publish(settings)
    published = build_and_publish(settings)
    assert "the working file does not hold the state the standby was brought to" in published.how, published.how
    assert differences(settings) == {}

    settings = fresh_copy(published_in_batches[0], tmp_path, "full")
    with warehouse.writer(settings) as con:
        incremental.forget(con)  # what `journeys build --full` does first
    published = build_and_publish(settings)
    assert published.how.startswith("copied whole") and "does not hold the state" in published.how
    assert differences(settings) == {}


def test_a_raw_table_that_went_back_copies_whole(tmp_path):
    """raw.touchpoints shorter than the standby's (a load rolled back by restoring the file): whole."""
    settings = load_settings(home=tmp_path / "home")
    write_simulation(tmp_path / "events.parquet", 40, 20, 2)
    load_file(settings, tmp_path / "events.parquet")
    for _ in range(2):
        build_and_publish(settings)
    with warehouse.writer(settings) as con:
        con.execute("delete from raw.touchpoints where rowid >= (select max(rowid) - 5 from raw.touchpoints)")
        con.execute("insert into raw.touchpoints select * from raw.touchpoints limit 3")  # other load_ids at the end
    published = build_and_publish(settings)
    assert published.how.startswith("copied whole"), published.how
    assert "raw.touchpoints of the working file no longer begins with the standby's rows" in published.how
    assert differences(settings) == {}


def test_a_serving_file_written_by_someone_else_is_replaced_not_updated(published_in_batches, tmp_path):
    """Someone opened a serving file read-write and changed a value (the row counts stay the same): the
    next publish to it notices the file changed since it was published and replaces it with a copy
    of the published file; when the published file was written to as well, with a whole copy."""
    for both in (False, True):
        settings = fresh_copy(published_in_batches[0], tmp_path, f"home-{both}")
        standby = serving_file.slot_path(settings, serving_file.standby_slot(settings))
        for written in (standby, settings.published_path.resolve()) if both else (standby,):
            with duckdb.connect(str(written)) as con:
                con.execute("update marts.journeys set n_touchpoints = n_touchpoints + 1 where rowid = 0")
        published = build_and_publish(settings)
        assert "the standby was written to since it was published" in published.how
        if both:
            assert published.how.startswith("copied whole"), published.how
            assert "the published file cannot seed it: it was written to since it was published" in published.how
        else:
            assert published.how.startswith("a copy of the published file brought up in place"), published.how
        assert differences(settings) == {}


def test_a_build_that_changed_many_persons_copies_whole(published_in_batches, tmp_path, monkeypatch):
    """With the default share (the older-format copy's, serving_storage_version's default): a batch of
    events for every person (a new day for each) changes all of them since the standby's state, and
    a copy is cheaper than replacing their rows."""
    monkeypatch.setattr(serving_file, "FORMAT_COPY_ABOVE_CHANGED_SHARE", 0.5)
    settings = fresh_copy(published_in_batches[0], tmp_path, "home")
    with warehouse.writer(settings) as con:
        n_persons = con.execute("select count(*) from intermediate.int_persons").fetchone()[0]
        con.execute("""insert into raw.touchpoints by name
                       select * replace (event_id || '-again' as event_id, occurred_at + interval 30 day as occurred_at,
                                         received_at + interval 30 day as received_at, 'again' as load_id)
                       from raw.touchpoints qualify row_number() over (partition by customer_id order by rowid) = 1
                       and customer_id is not null""")
    published = build_and_publish(settings)
    changed = int(re.search(r"([\d,]+) persons changed", published.how)[1].replace(",", ""))
    assert published.how.startswith("copied whole") and "a copy is cheaper" in published.how, published.how
    assert changed > 0.5 * n_persons and "above 50% a copy is cheaper" in published.how
    assert differences(settings) == {}


def test_an_older_duckdb_reads_every_table_and_comment_after_copies_and_updates_in_place(published_in_batches,
                                                                                          old_reader):
    """After a whole copy, a file copy of it brought up in place and three updates in place
    (serving_storage_version v1.1.0, the default),
    DuckDB 1.1.3, as BI tools embed it, opens the published file and reads every table with the rows
    and the table and column comments DuckDB 2 reads."""
    from tests.old_duckdb import OLD_DUCKDB, read_here, read_with

    settings, publishes = published_in_batches
    assert settings.serving_storage_version == "v1.1.0"
    done = read_with(old_reader, settings.published_path)
    assert done.returncode == 0, done.stderr
    old, new = json.loads(done.stdout), read_here(settings.published_path)
    assert old["version"] == OLD_DUCKDB
    assert len(old["tables"]) > 40 and "marts.journey_map" in old["tables"]
    assert old["tables"] == new["tables"]
    assert old["columns"] == new["columns"] and sum(c is not None for c in old["columns"].values()) > 500


def test_serving_storage_version_latest_copies_whole_in_the_newer_format(published_in_batches, tmp_path, old_reader):
    """A changed serving_storage_version is a whole copy, in the format asked for: with `latest`, the
    working file's own, which the older reader refuses, saying why."""
    from tests.old_duckdb import read_with

    settings = fresh_copy(published_in_batches[0], tmp_path, "latest").replace(serving_storage_version="latest")
    published = build_and_publish(settings)
    assert published.how.startswith("copied whole"), published.how
    assert published.how.endswith("the standby is in storage format v1.1.0, serving_storage_version is latest; "
                                  "the published file cannot seed it: it is in storage format v1.1.0, "
                                  "serving_storage_version is latest")
    refused = read_with(old_reader, settings.published_path)
    assert refused.returncode != 0 and "version" in refused.stderr.lower()
    assert differences(settings) == {}
