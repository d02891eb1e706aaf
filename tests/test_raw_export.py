"""Publishing raw as Parquet parts: each load appends one part holding exactly the rows it committed,
dead letters included; nothing new writes nothing; a working file restored from an older copy gets
its parts written again from the first row."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd

from journeys import publishing, raw_export
from journeys.pipelines.loader import load_file
from journeys.settings import load_settings
from tests.helpers import raw_part_rows, rows_differing_from_raw_parts


def csv_file(path, first: int, n: int, bad: int = 0):
    """`n` valid page views numbered from `first`, then `bad` rows without an occurred_at (dead letters)."""
    ids = [f"e{i}" for i in range(first, first + n + bad)]
    times = ["2025-03-01 10:00:00"] * n + [""] * bad
    pd.DataFrame({"event_id": ids, "occurred_at": times, "channel": "web", "event_type": "page_view",
                  "customer_id": "c1"}).to_csv(path, index=False)
    return path


def part_names(settings, table="touchpoints"):
    return [p.name for _, _, p in raw_export.parts(raw_export.raw_dir(settings) / table)]


def test_each_load_appends_one_part_with_the_rows_it_committed(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    for number, (first, n, bad) in enumerate([(0, 5, 1), (5, 3, 0), (8, 4, 2)]):
        load_file(settings, csv_file(tmp_path / f"{number}.csv", first, n, bad))
        published = publishing.publish_raw(settings)
        assert published.new_raw_rows == n
    assert part_names(settings) == ["000000000000-000000000004.parquet", "000000000005-000000000007.parquet",
                                    "000000000008-000000000011.parquet"]
    assert raw_part_rows(settings, "select count(*), count(distinct event_id) from parts") == [(12, 12)]
    assert rows_differing_from_raw_parts(settings) == 0
    assert raw_part_rows(settings, "select count(*) from parts", table="dead_letters") == [(3,)]
    assert rows_differing_from_raw_parts(settings, "dead_letters") == 0
    assert rows_differing_from_raw_parts(settings, "load_runs") == 0
    assert not settings.published_path.exists()  # no build yet: no published warehouse file, and no copy of one

    assert publishing.publish_raw(settings).new_raw_rows == 0  # nothing new: no part
    assert len(part_names(settings)) == 3


def test_a_working_file_restored_from_an_older_copy_gets_its_parts_written_again(tmp_path):
    settings = load_settings(home=tmp_path / "home")
    load_file(settings, csv_file(tmp_path / "a.csv", 0, 5))
    publishing.publish_raw(settings)
    older = tmp_path / "older.duckdb"
    shutil.copyfile(settings.warehouse_path, older)
    load_file(settings, csv_file(tmp_path / "b.csv", 5, 4))
    publishing.publish_raw(settings)
    assert raw_part_rows(settings, "select count(*) from parts") == [(9,)]

    shutil.copyfile(older, settings.warehouse_path)  # the operator restores yesterday's file
    load_file(settings, csv_file(tmp_path / "c.csv", 100, 2))  # 7 rows: fewer than the 9 published
    exported = raw_export.export_raw(settings)
    assert exported.rewritten == ("touchpoints", "load_runs")
    assert part_names(settings) == ["000000000000-000000000006.parquet"]
    assert rows_differing_from_raw_parts(settings) == 0


def test_a_restored_working_file_that_grew_past_the_parts_again_is_caught_by_its_last_batch(tmp_path):
    """Restored to 5 rows, then 10 loaded: 15 rows, more than the 9 published, but rows 5-8 are not the
    ones published: the last published row's batch differs, so the parts are written again."""
    settings = load_settings(home=tmp_path / "home")
    load_file(settings, csv_file(tmp_path / "a.csv", 0, 5))
    publishing.publish_raw(settings)
    older = tmp_path / "older.duckdb"
    shutil.copyfile(settings.warehouse_path, older)
    load_file(settings, csv_file(tmp_path / "b.csv", 5, 4))
    publishing.publish_raw(settings)
    shutil.copyfile(older, settings.warehouse_path)
    load_file(settings, csv_file(tmp_path / "c.csv", 100, 10))
    assert raw_export.export_raw(settings).rewritten == ("touchpoints", "load_runs")
    assert part_names(settings) == ["000000000000-000000000014.parquet"]
    assert rows_differing_from_raw_parts(settings) == 0
    assert raw_part_rows(settings, "select count(*) from parts where event_id in ('e5', 'e6', 'e7', 'e8')") == [(0,)]


def test_a_part_of_many_row_groups_holds_its_rows_in_row_order(tmp_path):
    """A part must hold the working table's rows in rowid order (the restored-copy check reads its
    last row by position), and the export writes it by a streamed, parallel scan without sorting:
    300,000 rows (three of DuckDB's row groups) on two threads come out in the order they went in."""
    settings = load_settings(home=tmp_path / "home", duckdb_threads=2)
    load_file(settings, csv_file(tmp_path / "many.csv", 0, 300_000))
    assert publishing.publish_raw(settings).new_raw_rows == 300_000
    (_, _, part), = raw_export.parts(raw_export.raw_dir(settings) / "touchpoints")
    con = duckdb.connect()
    in_part = [event_id for (event_id,) in con.execute(f"select event_id from read_parquet('{part}')").fetchall()]
    con.execute(f"attach '{settings.warehouse_path}' as working (read_only)")
    in_rowid_order = [e for (e,) in con.execute("select event_id from working.raw.touchpoints order by rowid").fetchall()]
    assert len(in_part) == 300_000
    assert in_part == in_rowid_order
