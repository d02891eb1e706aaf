"""`journeys query --format csv|json|table` prints what DuckDB holds, exactly: CSV that the `csv` module
reads back, JSON with ISO-8601 UTC timestamps, lists and structs as JSON, NULL never as NaN."""

from __future__ import annotations

import csv
import decimal
import io
import json

import duckdb
import pandas as pd
import pytest

from journeys.cli import main as journeys_main
from journeys.query import format_frame
from journeys.settings import load_settings

SAMPLE = """
    create schema marts;
    create table marts.sample (id integer, note varchar, channels varchar[], info struct(n integer, tag varchar),
                               counts map(varchar, integer), seen_at timestamp, seen_tz timestamptz,
                               revenue decimal(18, 2), ratio double, empty varchar);
    insert into marts.sample values
        (1, 'a, "quoted"' || chr(10) || 'line', ['email', 'store', 'web'], {'n': 2, 'tag': null}, map(['k'], [1]),
         '2025-03-01 12:34:56.789012', '2025-03-01 14:34:56.789012+02', 1234567890123456.78, 0.1, ''),
        (2, null, [], null, null, null, null, null, 'nan', null),
        (3, 'x', null, null, null, '2025-03-02 00:00:00', null, -0.05, 'inf', 'y');
"""


@pytest.fixture
def query(tmp_path, monkeypatch, capsys):
    """Runs `journeys query SQL --format F` on a published file holding marts.sample; returns stdout."""
    settings = load_settings(home=tmp_path / "home")
    settings.published_dir.mkdir(parents=True)
    con = duckdb.connect(str(settings.published_path))
    con.execute(SAMPLE)
    con.close()
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    monkeypatch.chdir(tmp_path)

    def run(sql: str, fmt: str) -> str:
        assert journeys_main(["query", sql, "--format", fmt]) == 0
        out, err = capsys.readouterr()
        assert err == ""
        return out

    return run


def test_csv_ends_with_one_newline_and_reads_back_exactly(query):
    """The csv module gets every value back: quotes, commas and line breaks inside a field, lists and
    structs as JSON text, the timestamp to the microsecond, the decimal to the cent, NULL empty."""
    out = query("select id, note, channels, info, counts, seen_at, revenue, ratio, empty from marts.sample order by id",
                "csv")
    assert out.endswith("\n") and not out.endswith("\n\n")
    assert list(csv.reader(io.StringIO(out, newline=""))) == [
        ["id", "note", "channels", "info", "counts", "seen_at", "revenue", "ratio", "empty"],
        ["1", 'a, "quoted"\nline', '["email", "store", "web"]', '{"n": 2, "tag": null}', '{"k": 1}',
         "2025-03-01 12:34:56.789012", "1234567890123456.78", "0.1", ""],
        ["2", "", "[]", "", "", "", "", "nan", ""],
        ["3", "x", "", "", "", "2025-03-02 00:00:00", "-0.05", "inf", "y"],
    ]


def test_csv_tells_an_empty_string_from_null(query):
    """'' is written "" and NULL as nothing, as DuckDB's own COPY does."""
    assert query("select id, empty from marts.sample order by id", "csv") == 'id,empty\n1,""\n2,\n3,y\n'


def test_json_has_iso_utc_timestamps_exact_decimals_and_nested_values(query):
    """Timestamps keep their microseconds and say UTC ('Z'; the timestamptz +02 is converted);
    1234567890123456.78 survives (a double would make it ...456.8); lists are arrays, structs and maps
    objects; NaN and infinity, which JSON cannot hold, are null like NULL."""
    out = query("select * from marts.sample order by id", "json")
    rows = json.loads(out, parse_float=decimal.Decimal)
    assert rows[0] == {"id": 1, "note": 'a, "quoted"\nline', "channels": ["email", "store", "web"],
                       "info": {"n": 2, "tag": None}, "counts": {"k": 1},
                       "seen_at": "2025-03-01T12:34:56.789012Z", "seen_tz": "2025-03-01T12:34:56.789012Z",
                       "revenue": decimal.Decimal("1234567890123456.78"), "ratio": decimal.Decimal("0.1"), "empty": ""}
    assert rows[1] == {"id": 2, "note": None, "channels": [], "info": None, "counts": None, "seen_at": None,
                       "seen_tz": None, "revenue": None, "ratio": None, "empty": None}
    assert (rows[2]["seen_at"], rows[2]["revenue"], rows[2]["ratio"]) == \
        ("2025-03-02T00:00:00.000000Z", decimal.Decimal("-0.05"), None)
    assert out.endswith("]\n") and "NaN" not in out and "Infinity" not in out


def test_table_shows_lists_as_json_and_null_as_null(query):
    """No numpy reprs, no NaN/NaT/None: a list reads as JSON, NULL as NULL, a NaN double as nan;
    each column right-aligned to its widest text (2, 25, 26 and 5 characters)."""
    out = query("select id, channels, seen_at, ratio from marts.sample order by id", "table")
    assert out.splitlines() == [
        "id                  channels                    seen_at ratio",
        " 1 [\"email\", \"store\", \"web\"] 2025-03-01 12:34:56.789012   0.1",
        " 2                        []                       NULL   nan",
        " 3                      NULL        2025-03-02 00:00:00   inf",
    ]


def test_a_query_with_no_rows(query):
    """CSV keeps its header, JSON is an empty array, the table says so."""
    sql = "select id, note from marts.sample where false"
    assert (query(sql, "csv"), query(sql, "json"), query(sql, "table")) == ("id,note\n", "[]\n", "(no rows)\n")


def test_a_numpy_frame_has_nan_as_null():
    """Frames built in pandas (the funnel's) use NaN for a missing rate and NA for a missing count:
    both are NULL, an empty CSV field and JSON null."""
    frame = pd.DataFrame({"step": ["view", "buy"], "n": pd.array([5, None], dtype="Int64"), "rate": [None, 0.6]})
    assert format_frame(frame, "csv") == "step,n,rate\nview,5,\nbuy,,0.6"
    assert json.loads(format_frame(frame, "json")) == [{"step": "view", "n": 5, "rate": None},
                                                       {"step": "buy", "n": None, "rate": 0.6}]
    assert format_frame(frame, "table").splitlines() == ["step    n rate", "view    5 NULL", " buy NULL  0.6"]
