"""Strict file loads: every file row is loaded or dead-lettered with its line and reason, never
rounded, nulled or dropped silently, and one broken line never takes the rest of the file with it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from journeys.pipelines.loader import load_file
from journeys.pipelines.replay import replay_file

HEADER = "event_id,occurred_at,channel,event_type,customer_id,revenue,nps_score,csat_score"


def row(event_id: str, occurred_at: str = "2025-01-01T10:00:00Z", channel: str = "web", event_type: str = "purchase",
        customer_id: str = "c1", revenue: str = "", nps: str = "", csat: str = "") -> str:
    return ",".join((event_id, occurred_at, channel, event_type, customer_id, revenue, nps, csat))


def jsonl(*objects) -> bytes:
    return b"".join((o if isinstance(o, bytes) else json.dumps(o).encode()) + b"\n" for o in objects)


def event(event_id: str, **fields) -> dict:
    return {"event_id": event_id, "occurred_at": "2025-01-01T10:00:00Z", "channel": "web", "event_type": "page_view",
            "customer_id": "c1", **fields}


@dataclass
class Loaded:
    n_consumed: int
    rows: dict[str, dict]
    """event_id -> the loaded row"""
    dead: list[tuple[int, str]]
    """(source_offset, reason), by line"""
    payloads: dict[int, dict]


def load(settings, tmp_path, body: bytes | str, name: str = "events.csv") -> Loaded:
    path = tmp_path / name
    path.write_bytes(body.encode() if isinstance(body, str) else body)
    result = load_file(settings, path)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        cursor = con.execute("select * from raw.touchpoints")
        names = [d[0] for d in cursor.description]
        rows = {r["event_id"]: r for r in (dict(zip(names, values)) for values in cursor.fetchall())}
        dead = con.execute("select source_offset, reason, payload from raw.dead_letters order by source_offset").fetchall()
    finally:
        con.close()
    assert result.n_consumed == result.n_loaded + result.n_dead_lettered == len(rows) + len(dead)
    return Loaded(result.n_consumed, rows, [(o, r) for o, r, _ in dead], {o: json.loads(p) for o, _, p in dead})


def csv_lines(*lines: str) -> str:
    return "\n".join((HEADER, *lines)) + "\n"


def test_a_revenue_that_is_not_a_number_is_dead_lettered_not_nulled(settings, tmp_path):
    """Line 3's revenue 'abc' is a parse error naming the column; line 2 loads."""
    out = load(settings, tmp_path, csv_lines(row("ok", revenue="12.50"), row("bad", revenue="abc")))
    assert out.n_consumed == 2 and list(out.rows) == ["ok"] and out.rows["ok"]["revenue"] == 12.5
    assert out.dead == [(3, "revenue 'abc' is not a number")]
    assert out.payloads[3]["revenue"] == "abc" and out.payloads[3]["event_id"] == "bad"


def test_a_fractional_score_is_dead_lettered_not_rounded(settings, tmp_path):
    """nps '7.5' is not a whole number (it used to become 8); '7.0' is 7."""
    out = load(settings, tmp_path, csv_lines(row("half", nps="7.5"), row("whole", nps="7.0")))
    assert out.n_consumed == 2 and out.rows["whole"]["nps_score"] == 7 and "half" not in out.rows
    assert out.dead == [(2, "nps_score '7.5' is not a whole number")]


def test_non_finite_revenue_is_dead_lettered(settings, tmp_path):
    """inf, -inf, nan and 1e400 (which overflows to inf) are four parse errors; 1e3 is 1000."""
    revenues = ["inf", "-inf", "nan", "1e400", "1e3"]
    out = load(settings, tmp_path, csv_lines(*(row(f"r{i}", revenue=v) for i, v in enumerate(revenues))))
    assert out.n_consumed == 5 and list(out.rows) == ["r4"] and out.rows["r4"]["revenue"] == 1000.0
    assert out.dead == [(2, "revenue 'inf' is not finite"), (3, "revenue '-inf' is not finite"),
                        (4, "revenue 'nan' is not finite"), (5, "revenue '1e400' is not finite")]


def test_infinite_and_ancient_occurred_at_are_dead_lettered(settings, tmp_path):
    """infinity / -infinity are not finite, year 1 is before earliest_event_at, a bare date is no timestamp."""
    times = ["infinity", "-infinity", "0001-01-01T00:00:00", "0001-01-01",
             "2025-01-01 10:00:00.123456", "2025-01-01T11:00:00+01:00"]
    out = load(settings, tmp_path, csv_lines(*(row(f"t{i}", occurred_at=t) for i, t in enumerate(times))))
    assert out.n_consumed == 6 and sorted(out.rows) == ["t4", "t5"]
    assert str(out.rows["t4"]["occurred_at"]) == "2025-01-01 10:00:00.123456"  # naive is UTC
    assert str(out.rows["t5"]["occurred_at"]) == "2025-01-01 10:00:00"  # +01:00 converted to UTC
    assert out.dead == [(2, "occurred_at 'infinity' is not finite"), (3, "occurred_at '-infinity' is not finite"),
                        (4, "occurred_at 0001-01-01T00:00:00 is before earliest_event_at 1990-01-01"),
                        (5, "occurred_at '0001-01-01' is not a timestamp")]


def test_an_out_of_range_integer_is_dead_lettered_not_nulled(settings, tmp_path):
    """csat 99999999999 does not fit a 32-bit score: a parse error, not a NULL."""
    out = load(settings, tmp_path, csv_lines(row("big", csat="99999999999"), row("ok", csat="4")))
    assert out.n_consumed == 2 and out.rows["ok"]["csat_score"] == 4 and "big" not in out.rows
    assert out.dead == [(2, "csat_score '99999999999' out of range")]


def test_a_line_with_the_wrong_number_of_fields_is_dead_lettered_alone(settings, tmp_path):
    """Lines 3 (7 fields) and 5 (9 fields) are dead-lettered; the empty line 4 is no row; 2 and 6 load.
    Windows line ends are not part of the last field, and the last line needs no newline."""
    lines = (HEADER, row("ok1", csat="3"), "short,2025-01-01T10:00:00Z,web,purchase,c1,,", "", row("long") + ",extra",
             row("ok2", csat="4"))
    out = load(settings, tmp_path, "\r\n".join(lines))
    assert out.n_consumed == 4 and {k: v["csat_score"] for k, v in out.rows.items()} == {"ok1": 3, "ok2": 4}
    assert out.dead == [(3, "line 3 has 7 fields, expected 8"), (5, "line 5 has 9 fields, expected 8")]
    assert out.payloads[3] == {"malformed_line": "short,2025-01-01T10:00:00Z,web,purchase,c1,,"}
    assert out.rows["ok2"]["source_offset"] == 6


def test_an_unbalanced_quote_spoils_only_its_line(settings, tmp_path):
    """Line 3 opens a quote it never closes; lines 2 and 4 load, and so does a properly quoted line 5."""
    quoted = 'q2,2025-01-01T10:00:00Z,web,"say ""hi"", then buy",c1,,,'
    out = load(settings, tmp_path, csv_lines(row("ok1"), '"q1,2025-01-01T10:00:00Z,web,purchase,c1,,,', row("ok2"), quoted))
    assert out.n_consumed == 4 and sorted(out.rows) == ["ok1", "ok2", "q2"]
    assert out.rows["q2"]["event_type"] == 'say "hi", then buy'
    assert out.dead == [(3, "line 3 has an unbalanced or misplaced quote")]


def test_an_invalid_utf8_byte_spoils_only_its_line(settings, tmp_path):
    """Byte 0xFF, byte 33 of line 3, dead-letters that line; its payload shows U+FFFD in its place."""
    body = csv_lines(row("ok1"), row("bad", event_type="buy@"), row("ok2")).encode().replace(b"buy@", b"buy\xff")
    out = load(settings, tmp_path, body)
    assert out.n_consumed == 3 and sorted(out.rows) == ["ok1", "ok2"]
    assert out.dead == [(3, "line 3 is not valid UTF-8 (byte 33)")]  # 'bad,2025-01-01T10:00:00Z,web,buy' is 32 bytes
    assert out.payloads[3]["malformed_line"].startswith("bad,2025-01-01T10:00:00Z,web,buy\ufffd")


def test_an_oversized_line_is_dead_lettered_unread(settings, tmp_path):
    """A 1 MiB + 1 event_type makes line 3 longer than the 1 MiB line limit."""
    big = row("big", event_type="x" * (1 << 20))
    out = load(settings, tmp_path, csv_lines(row("ok1"), big, row("ok2")))
    assert out.n_consumed == 3 and sorted(out.rows) == ["ok1", "ok2"]
    assert out.dead == [(3, f"line 3 is {len(big)} bytes, over the 1048576-byte limit (file_max_line_bytes)")]


def test_a_json_object_id_in_one_row_leaves_the_other_ids_plain(settings, tmp_path):
    """Line 2's customer_id is an object: that row is dead-lettered; lines 1 and 3 keep 'c1' and 'c3', not '"c1"'."""
    body = jsonl(event("j1"), event("j2", customer_id={"id": 7}, anonymous_id="a2"), event("j3", customer_id="c3"))
    out = load(settings, tmp_path, body, "events.jsonl")
    assert out.n_consumed == 3 and {k: v["customer_id"] for k, v in out.rows.items()} == {"j1": "c1", "j3": "c3"}
    assert out.dead == [(2, "customer_id is a JSON object, not a value")]


def test_a_line_that_is_not_a_json_object_is_dead_lettered_alone(settings, tmp_path):
    """Lines 2-4 are broken JSON, an array and a string; lines 1 and 5 load."""
    out = load(settings, tmp_path, jsonl(event("j1"), b'{"event_id": "j2",', b"[1, 2]", b'"text"', event("j5")), "events.jsonl")
    assert out.n_consumed == 5 and sorted(out.rows) == ["j1", "j5"]
    assert out.dead == [(2, "line 2 is not valid JSON"), (3, "line 3 is a JSON array, not an object"),
                        (4, "line 4 is a JSON string, not an object")]
    assert out.payloads[2] == {"malformed_line": '{"event_id": "j2",'}


def test_a_nested_properties_object_becomes_a_string_map(settings, tmp_path):
    """Nested values become JSON text, nulls are dropped, unknown keys join them; a string `properties` is refused."""
    nested = {"plan": "pro", "cart": {"items": 2, "sku": ["a"]}, "vip": True, "n": 3, "none": None}
    body = jsonl(event("j1", properties=nested, utm="x"), event("j2", properties="gold"))
    out = load(settings, tmp_path, body, "events.jsonl")
    assert out.n_consumed == 2
    assert out.rows["j1"]["properties"] == {"plan": "pro", "cart": '{"items":2,"sku":["a"]}', "vip": "true", "n": "3",
                                            "utm": "x"}
    assert out.dead == [(2, "properties '\"gold\"' is not a JSON object")]


def test_channel_names_are_trimmed_and_lower_cased(settings, tmp_path):
    """' Web ' and 'EMAIL' are the web and email channels, as staging would read them."""
    out = load(settings, tmp_path, csv_lines(row("a", channel=" Web "), row("b", channel="EMAIL")))
    assert {k: v["channel"] for k, v in out.rows.items()} == {"a": "web", "b": "email"} and out.dead == []


def test_parquet_text_columns_are_as_strict_and_rows_are_numbered_from_one(settings, tmp_path):
    """A Parquet revenue column of strings: row 2's 'abc' is dead-lettered as row 2; a native NaN too."""
    path = tmp_path / "events.parquet"
    table = pa.table({"event_id": ["p1", "p2", "p3"], "occurred_at": ["2025-01-01T10:00:00Z"] * 3,
                      "channel": ["web"] * 3, "event_type": ["purchase"] * 3, "customer_id": ["c1"] * 3,
                      "revenue": ["12.5", "abc", "3"], "nps_score": pa.array([None, None, math.nan])})
    pq.write_table(table, path)
    result = load_file(settings, path)
    assert (result.n_consumed, result.n_loaded, result.n_dead_lettered) == (3, 1, 2)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select event_id, revenue from raw.touchpoints").fetchall() == [("p1", 12.5)]
    assert con.execute("select source_offset, reason from raw.dead_letters order by 1").fetchall() == [
        (2, "revenue 'abc' is not a number"), (3, "nps_score 'nan' is not a whole number")]
    con.close()


@pytest.mark.slow
def test_replay_dead_letters_the_same_rows_with_the_same_reasons(broker, settings, tmp_path):
    """`journeys produce --file` uses the same strict reader: 3 rows = 1 sent + 2 dead-lettered, line numbers kept."""
    from journeys.pipelines.ingest import Ingester

    path = tmp_path / "events.csv"
    path.write_text(csv_lines(row("ok"), "short,2025-01-01T10:00:00Z", row("bad", revenue="abc")))
    report = replay_file(settings, path)
    assert (report.n_rows, report.n_sent, report.n_dead_lettered) == (3, 1, 2)
    ingested = Ingester(settings).run(once=True)
    assert (ingested.n_consumed, ingested.n_loaded, ingested.n_dead_lettered) == (3, 1, 2)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    dead = sorted((json.loads(payload)["row_number"], reason)
                  for payload, reason in con.execute("select payload, reason from raw.dead_letters").fetchall())
    assert dead == [(3, "rejected by producer: line 3 has 2 fields, expected 8"),
                    (4, "rejected by producer: revenue 'abc' is not a number")]
    con.close()
