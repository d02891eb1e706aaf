"""A table written from batches (the journey walk's): readers see the old table or the new one,
never a part; each batch is committed on its own into a building table, so a long build's
memory does not grow with the open transaction; a failed build leaves the old table."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from journeys.transforms import tables

SELECT = "select person_id, n * 10 as n10 from _batch"


def batch(persons: list[str], start: int) -> pa.Table:
    return pa.table({"person_id": persons, "n": list(range(start, start + len(persons)))})


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.steps as select 'old' as person_id, 1 as n10")
    yield con
    con.close()


def rows(con, table: str = "intermediate.steps") -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def test_a_reader_sees_the_old_table_until_the_last_batch_and_each_batch_is_committed(con):
    """While the third batch is being produced, another connection still reads the old table
    whole, and sees the two batches already written committed in the building table."""
    other = con.cursor()
    seen = {}

    def batches():
        yield batch(["a", "a"], 0)
        yield batch(["b"], 2)
        seen["target"] = rows(other)
        seen["building"] = rows(other, "intermediate.steps__building")
        yield batch(["c"], 3)

    assert tables.replace_table_in_batches(con.cursor(), "intermediate.steps", SELECT, "_batch", batches()) == 4
    assert seen == {"target": [("old", 1)], "building": [("a", 0), ("a", 10), ("b", 20)]}
    assert rows(con) == [("a", 0), ("a", 10), ("b", 20), ("c", 30)]
    assert con.execute("select count(*) from duckdb_tables() where table_name like '%__building'").fetchall() == [(0,)]


def test_a_build_that_fails_or_was_killed_midway_leaves_the_old_table_and_the_next_starts_clean(con):
    def failing():
        yield batch(["a"], 0)
        raise RuntimeError("the walk failed")

    with pytest.raises(RuntimeError, match="the walk failed"):
        tables.replace_table_in_batches(con.cursor(), "intermediate.steps", SELECT, "_batch", failing())
    assert rows(con) == [("old", 1)]
    assert con.execute("select count(*) from duckdb_tables() where table_name like '%__building'").fetchall() == [(0,)]
    # what a killed build left in the building table is not carried into the next one
    con.execute("create table intermediate.steps__building as select 'killed' as person_id, 9 as n10")
    tables.replace_table_in_batches(con.cursor(), "intermediate.steps", SELECT, "_batch", iter([batch(["z"], 7)]))
    assert rows(con) == [("z", 70)]


def test_no_batch_at_all_is_refused_and_the_old_table_stays(con):
    with pytest.raises(ValueError, match="no batch"):
        tables.replace_table_in_batches(con.cursor(), "intermediate.steps", SELECT, "_batch", iter([]))
    assert rows(con) == [("old", 1)]


def test_replacing_some_rows_deletes_and_inserts_in_one_step(con):
    """The incremental form: old's rows are replaced by the batches' rows; with no batch, the
    matching rows are only deleted."""
    con.execute("insert into intermediate.steps values ('kept', 5)")
    assert tables.replace_rows_in_batches(con.cursor(), "intermediate.steps", "person_id in ('old', 'a')", SELECT,
                                          "_batch", iter([batch(["a"], 4), batch(["old"], 6)])) == 3
    assert rows(con) == [("a", 40), ("kept", 5), ("old", 60)]
    assert tables.replace_rows_in_batches(con.cursor(), "intermediate.steps", "person_id = 'a'", SELECT,
                                          "_batch", iter([])) == 2
    assert rows(con) == [("kept", 5), ("old", 60)]
    assert con.execute("select count(*) from duckdb_tables() where table_name like '%__building'").fetchall() == [(0,)]
