"""Quality gates over large tables judge in bounded memory and still find every failing row.

Row-by-row gates are validated in chunks (quality/gates.py CHUNK_ROWS, made small here so a few
thousand rows span several chunks); GX is given only the rows that could fail (quality/candidates.py:
for a grain, the rows that break it), and finds what it finds in the whole frame. Each expected
figure is counted by hand from the rows the test writes, or is what GX itself reports over the
whole frame.
"""

from __future__ import annotations

import duckdb

from journeys.quality import candidates, gates
from journeys.quality.expect import Expect, between, in_set, key, not_null, true
from journeys.quality.gates import gate, run_gate


def test_a_row_gate_over_many_chunks_adds_up_the_failures_of_every_chunk(monkeypatch):
    """10,000 rows in chunks of 2,048: a negative amount every 1,000th row (rows 0, 1000, ..., 9000:
    10 rows, in 5 different chunks) and a NULL name at rows 5 and 9,995 (2 rows, first and last chunk).
    The whole frame is read, as for a gate whose expectations cannot be narrowed to candidate rows."""
    monkeypatch.setattr(gates, "CHUNK_ROWS", 2048)
    monkeypatch.setattr(gates, "candidates_sql", lambda *args: None)
    con = duckdb.connect()
    con.execute("""create table t as
                   select range as row_number,
                          case when range % 1000 = 0 then -1 else 1 end as amount,
                          case when range in (5, 9995) then null else 'n' || range end as name
                   from range(10000)""")
    g = gate("marts.t", "amount_positive", "", "select row_number, amount, name from t",
             between("amount", min_value=0), not_null("name"))
    result = run_gate(con, g, {}, sample_rows=3)
    assert not result.passed
    assert (result.rows_checked, result.failing_rows) == (10_000, 12)
    assert result.failures == ["column_values_to_be_between(column='amount', min_value=0): 10 of 10,000 rows",
                               "column_values_to_not_be_null(column='name'): 2 of 10,000 rows"]
    shown = [line.split()[0] for line in result.sample.splitlines()[1:4]]
    assert shown == ["0", "5", "1000"]  # the first three failing rows, across two chunks
    assert result.sample.endswith("… and 9 more")


def test_a_row_gate_over_no_rows_passes_and_still_knows_its_columns():
    con = duckdb.connect()
    con.execute("create table t (amount integer)")
    g = gate("marts.t", "amount_positive", "", "select amount from t", between("amount", min_value=0))
    result = run_gate(con, g, {})
    assert result.passed and result.rows_checked == 0
    missing = gate("marts.t", "typo", "", "select amount from t", between("amonut", min_value=0))
    assert not run_gate(con, missing, {}).passed  # an expectation on a column the frame lacks fails


def test_a_grain_gate_gives_gx_the_rows_that_break_the_grain_and_only_those():
    """Grain (journey_id, step_number), and event_id alone. Of 6 rows: ('j1', 1) twice (2 rows), a NULL
    step_number (1 row), event 'e5' in two different steps (2 rows), and one clean row ('j9', 1, 'e9')."""
    con = duckdb.connect()
    con.execute("""create table steps as select * from (values
                       ('j1', 1, 'e1'), ('j1', 1, 'e2'), ('j2', null, 'e3'),
                       ('j3', 1, 'e5'), ('j3', 2, 'e5'), ('j9', 1, 'e9')) as v(journey_id, step_number, event_id)""")
    g = gate("marts.steps", "grain", "", "select journey_id, step_number, event_id from steps",
             key("journey_id", "step_number"), key("event_id"))
    narrowed = candidates.candidates_sql(con, g.sql, {}, list(g.expectations))
    assert sorted(con.execute(narrowed).fetchall(), key=str) == sorted(
        [("j1", 1, "e1"), ("j1", 1, "e2"), ("j2", None, "e3"), ("j3", 1, "e5"), ("j3", 2, "e5")], key=str)
    result = run_gate(con, g, {})
    assert not result.passed and (result.rows_checked, result.failing_rows) == (6, 5)
    assert result.failures == [
        "column_values_to_not_be_null(column='step_number'): 1 of 6 rows",
        "compound_columns_to_be_unique(column_list=['journey_id', 'step_number']): 2 of 6 rows",
        "column_values_to_be_unique(column='event_id'): 2 of 6 rows"]


CANDIDATE_ROWS = """
    select * from (values
        (1, 'a', 1.0, 'web', true, 10, 'x'),
        (2, 'b', 'nan'::double, 'web', true, 11, 'x'),        -- NaN: missing to GX, fails not_null only
        (3, null, 5.0, 'fax', true, 12, 'y'),                  -- NULL name; a channel not in the set
        (4, 'd', 'inf'::double, 'store', false, 12, 'y'),      -- +inf above the bound; false; compound dup (12, 'y')
        (5, 'e', -2.0, null, true, 13, null),                  -- below the bound; NULL channel (in_set ignores it)
        (5, 'f', 3.0, 'email', true, 13, null),                -- id 5 twice; (13, NULL) twice
        (7, 'g', '-inf'::double, 'web', null, 14, 'z'),        -- -inf below the bound; NULL flag
        (8, 'h', 2.0, 'web', true, 15, 'z')                    -- passes everything
    ) as t (id, name, amount, channel, flag, part_a, part_b)"""


def test_gx_judging_only_the_candidate_rows_finds_what_it_finds_in_the_whole_frame(monkeypatch):
    """The same gate run twice on rows with NULL, NaN, +-inf, values outside a set and bounds, a duplicate
    id and a compound duplicate with a NULL part: once narrowed to its candidate rows, once over the whole
    frame (GX judging all 8 rows). Same failures, failing rows, rows checked and sample."""
    con = duckdb.connect()
    con.execute(f"create table t as {CANDIDATE_ROWS}")
    g = gate("marts.t", "everything", "", "select * from t",
             key("id"), not_null("name", "amount"), between("amount", min_value=0, max_value=4),
             in_set("channel", ("web", "store", "email")), true("flag"),
             Expect("expect_compound_columns_to_be_unique", {"column_list": ["part_a", "part_b"]}))
    assert "where" in (candidates.candidates_sql(con, g.sql, {}, list(g.expectations)) or "")
    narrowed = run_gate(con, g, {}, sample_rows=10)
    monkeypatch.setattr(gates, "candidates_sql", lambda *args: None)
    whole = run_gate(con, g, {}, sample_rows=10)
    assert not whole.passed
    assert (narrowed.failures, narrowed.failing_rows, narrowed.rows_checked) == (
        whole.failures, whole.failing_rows, whole.rows_checked)
    assert narrowed.sample == whole.sample
    # by hand: every row but the first and the last breaks something (the comments in CANDIDATE_ROWS)
    assert (whole.rows_checked, whole.failing_rows) == (8, 6)
