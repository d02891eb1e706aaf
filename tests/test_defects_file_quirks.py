"""File quirks the attack review found: a UTF-8 BOM before JSON-lines, bare-CR line endings, and
header names that differ only in case."""

from __future__ import annotations

import duckdb
import pytest

from journeys.pipelines.file_source import SourceFileError
from journeys.pipelines.loader import load_file

ROW = '{"event_id":"b1","occurred_at":"2025-03-01 10:00:00","channel":"web","event_type":"page_view","customer_id":"c1"}'


def test_a_bom_before_json_lines_is_not_part_of_line_1(settings, tmp_path):
    """The first row loads (it was dead-lettered as 'line 1 is not valid JSON')."""
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + ROW.encode() + b"\n")
    result = load_file(settings, path)
    assert (result.n_loaded, result.n_dead_lettered) == (1, 0)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select event_id, source_offset from raw.touchpoints").fetchall() == [("b1", 1)]
    con.close()


def test_bare_carriage_returns_are_refused_with_what_to_do(settings, tmp_path):
    """One clear error naming the line endings (was a raw csv.Error about universal-newline mode)."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"event_id,occurred_at,channel,event_type,customer_id\re1,2025-03-01 10:00:00,web,page_view,c1\r")
    with pytest.raises(SourceFileError, match="bare carriage return"):
        load_file(settings, path)


def test_names_differing_only_in_case_are_a_repeated_column(settings, tmp_path):
    """`event_id` and `Event_ID` are one name to DuckDB: refused up front (was a Binder Error)."""
    path = tmp_path / "dup.csv"
    path.write_text("event_id,Event_ID,occurred_at,channel,event_type,customer_id\ne1,x,2025-03-01 10:00:00,web,page_view,c1\n")
    with pytest.raises(SourceFileError, match="repeats a column name"):
        load_file(settings, path)
