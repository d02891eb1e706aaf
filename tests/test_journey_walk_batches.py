"""The journey walk holds a bounded batch of whole persons at a time, and batching changes nothing."""

from __future__ import annotations

import pyarrow as pa
import pytest

from journeys import warehouse
from journeys.transforms import build_plan
from journeys.transforms.classification import whole_persons
from tests.sample_warehouse import build_sample_warehouse


def reader(persons: list[str], rows_per_batch: int) -> pa.RecordBatchReader:
    table = pa.table({"person_id": persons, "n": list(range(len(persons)))})
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=rows_per_batch))


def test_batches_keep_every_row_in_order_and_never_split_a_person():
    """Persons a (3 rows), b (4), c (1), d (2) read 2 rows at a time, batches of about 3 rows: once
    3 rows are held, everything before the last person read goes out, so [a a a] (held a a a b),
    [b b b b] (b alone reached 3; out when c arrives), [c] (held c d d), and what is left, [d d]."""
    persons = list("aaabbbbcdd")
    batches = list(whole_persons(reader(persons, 2), 3))
    assert [b.column("person_id").to_pylist() for b in batches] == [list("aaa"), list("bbbb"), ["c"], list("dd")]
    assert [n for b in batches for n in b.column("n").to_pylist()] == list(range(10))


def test_a_person_larger_than_a_batch_is_one_batch():
    persons = ["a"] + ["bot"] * 9 + ["z"]
    batches = list(whole_persons(reader(persons, 2), 3))
    assert [b.column("person_id").to_pylist() for b in batches] == [["a"], ["bot"] * 9, ["z"]]


def test_no_rows_still_yield_one_empty_batch_with_the_columns():
    empty = pa.table({"person_id": pa.array([], pa.string()), "n": pa.array([], pa.int64())})
    (batch,) = whole_persons(pa.RecordBatchReader.from_batches(empty.schema, []), 3)
    assert batch.num_rows == 0 and batch.column_names == ["person_id", "n"]


@pytest.mark.slow
def test_walking_in_small_batches_gives_the_same_journeys_as_one_batch(tmp_path):
    """A simulated population walked 1,000 touchpoints at a time (many batches) and all at once:
    int_journey_steps and marts.journeys are the same, row for row."""
    settings = build_sample_warehouse(tmp_path / "home", customers=200, days=60, publish=False)
    with warehouse.writer(settings) as con:
        n_touchpoints = con.execute("select count(*) from intermediate.int_touchpoints_stitched "
                                    "where person_id is not null").fetchall()[0][0]
        assert n_touchpoints > 5 * 1000  # enough for several batches
        tables = ("intermediate.int_journey_steps", "marts.journeys")
        one_batch = {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}
        build_plan.build(con, settings.replace(journey_walk_batch_rows=1000),
                         ["intermediate.int_journey_steps", "marts.journey_steps", "marts.journeys"])
        batched = {t: con.execute(f"select * from {t} order by all").fetchall() for t in tables}
    assert batched == one_batch
    assert len(one_batch["intermediate.int_journey_steps"]) == n_touchpoints
