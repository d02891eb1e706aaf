"""A message that cannot be stored never blocks its partition: it is dead-lettered with its reason and
the valid events behind it flow on."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from journeys import warehouse
from journeys.pipelines import raw_writer
from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.contract import topic_for
from journeys.schemas.registry import Encoder, load_schema, physical_schema
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def micros(record: dict) -> dict:
    """The record with its timestamps as microseconds since the epoch, as they are on the wire."""
    out = dict(record)
    for name in ("occurred_at", "received_at"):
        if isinstance(out[name], dt.datetime):
            out[name] = (out[name] - EPOCH) // dt.timedelta(microseconds=1)
    return out


POISON = {  # event_id: (occurred_at µs, received_at µs or None for "1 s after", what the reason must say)
    "p-int64-min": (INT64_MIN, None, "before earliest_event_at"),
    "p-minus-infinity": (-INT64_MAX, None, "occurred_at is -infinity"),
    "p-infinity": (INT64_MAX, None, "occurred_at is infinity"),
    "p-year-1": (int((dt.datetime(1, 1, 1, tzinfo=dt.UTC) - EPOCH) / dt.timedelta(microseconds=1)), None,
                 "before earliest_event_at"),
    "p-far-future": (int((dt.datetime(2999, 1, 1, tzinfo=dt.UTC) - EPOCH) / dt.timedelta(microseconds=1)), None,
                     "in the future"),
    "p-received-int64-min": (None, INT64_MIN, "received_at"),
}


def send_poison_between_valid_events(producer: TouchpointProducer) -> list[str]:
    """On one partition (one customer key): 3 valid, then each poison message, each followed by 2 valid."""
    encoder = Encoder(physical_schema(load_schema()))  # same fingerprint: the canonical form has no logical types
    valid = []

    def send_valid(n):
        for _ in range(n):
            event_id = f"ok-{len(valid)}"
            producer.send(touchpoint(event_id, customer_id="c-poison", minutes=len(valid)))
            valid.append(event_id)

    send_valid(3)
    for event_id, (occurred, received, _) in POISON.items():
        record = micros(touchpoint(event_id, customer_id="c-poison"))
        if occurred is not None:
            record["occurred_at"] = occurred
        if received is not None:
            record["received_at"] = received
        producer.send_encoded(topic_for("web"), b"c-poison", encoder.encode(record))
        send_valid(2)
    producer.flush()
    return valid


def test_poison_messages_are_dead_lettered_and_the_partition_flows_on(broker, settings):
    """15 valid events load; each of the 6 poison messages is a dead letter with its reason; a second
    ingest finds nothing left to do (the partition is not blocked)."""
    with TouchpointProducer() as producer:
        valid = send_poison_between_valid_events(producer)
    report = Ingester(settings).run(once=True)
    assert (report.n_consumed, report.n_loaded, report.n_dead_lettered) == (21, 15, 6)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    loaded = sorted(r[0] for r in con.execute("select event_id from raw.touchpoints").fetchall())
    assert loaded == sorted(valid)
    dead = con.execute("select source_offset, reason from raw.dead_letters order by source_offset").fetchall()
    con.close()
    # offsets on the partition: 0-2 valid, then poison k at 3 + 3k, each followed by 2 valid
    assert [offset for offset, _ in dead] == [3 + 3 * k for k in range(6)]
    for (_, reason), (_, _, expected) in zip(dead, POISON.values()):
        assert expected in reason, reason
    again = Ingester(settings).run(once=True)
    assert again.n_consumed == 0


def test_a_chunk_that_fails_to_write_is_bisected_to_the_offending_rows(tmp_path):
    """write_batch with 1,000 rows of which rows 10 and 700 carry a map with a duplicate key (valid Arrow
    that DuckDB refuses, standing in for any row validation did not foresee): 998 stored, 2 dead-lettered
    with DuckDB's error, offsets stored once, in one transaction."""
    from journeys.settings import Settings

    settings = Settings(home=tmp_path / "home")
    rows = []
    for i in range(1000):
        record = micros(touchpoint(f"e{i}", minutes=i))
        if i in (10, 700):
            record["properties"] = [("note", "a"), ("note", "b")]
        rows.append({**record, "source_topic": "touchpoints.web", "source_partition": 0, "source_offset": i,
                     "payload": f"bytes-{i}".encode()})
    table = pa.Table.from_pylist(rows, schema=raw_writer.INCOMING_SCHEMA)
    with warehouse.writer(settings) as con:
        raw_writer.create_raw_tables(con)
        result = raw_writer.write_batch(con, settings, table, next_offsets={("touchpoints.web", 0): (1000, "d")})
        assert (result.n_consumed, result.n_loaded, result.n_dead_lettered) == (1000, 998, 2)
        dead = con.execute("select source_offset, payload, reason from raw.dead_letters order by 1").fetchall()
        assert [(o, p) for o, p, _ in dead] == [(10, b"bytes-10"), (700, b"bytes-700")]
        assert all("cannot be stored" in reason for _, _, reason in dead)
        assert con.execute("select count(*), count(distinct event_id) from raw.touchpoints").fetchone() == (998, 998)
        assert con.execute("select next_offset from raw.ingest_offsets").fetchall() == [(1000,)]
        assert con.execute("select count(*) from raw.load_runs").fetchone()[0] == 1  # probes left nothing behind


def test_a_batch_where_every_row_fails_is_not_dead_lettered_but_fails_uncommitted(tmp_path, monkeypatch):
    """If every row fails on its own (here DuckDB refuses the table itself: every row's map has a
    duplicate key stands in for a setting that breaks validation for all), nothing is committed: no
    dead letters, no offsets, and the error says so. Losing a whole chunk to dead letters is not allowed."""
    from journeys.settings import Settings

    settings = Settings(home=tmp_path / "home")
    rows = [{**micros(touchpoint(f"e{i}", minutes=i)), "properties": [("k", "a"), ("k", "b")],
             "source_topic": "touchpoints.web", "source_partition": 0, "source_offset": i, "payload": b"x"}
            for i in range(20)]
    table = pa.Table.from_pylist(rows, schema=raw_writer.INCOMING_SCHEMA)
    with warehouse.writer(settings) as con:
        raw_writer.create_raw_tables(con)
        with pytest.raises(RuntimeError, match="none of the 20 rows"):
            raw_writer.write_batch(con, settings, table, next_offsets={("touchpoints.web", 0): (20, "d")})
        counts = con.execute("select (select count(*) from raw.dead_letters), (select count(*) from raw.touchpoints), "
                             "(select count(*) from raw.ingest_offsets)").fetchone()
    assert counts == (0, 0, 0)


def test_a_revenue_that_would_sum_to_infinity_is_dead_lettered(tmp_path):
    """1e308 is a finite double, but two of them sum to infinity in every revenue mart: 10^15 or more is refused."""
    from journeys.settings import Settings

    settings = Settings(home=tmp_path / "home")
    rows = [{**micros(touchpoint(f"e{i}", event_type="purchase", minutes=i, revenue=value, currency="EUR")),
             "source_topic": "touchpoints.web", "source_partition": 0, "source_offset": i, "payload": b"x"}
            for i, value in enumerate([1e308, 999_999_999_999_999.0, 1e15, -1e15])]
    table = pa.Table.from_pylist(rows, schema=raw_writer.INCOMING_SCHEMA)
    with warehouse.writer(settings) as con:
        raw_writer.create_raw_tables(con)
        result = raw_writer.write_batch(con, settings, table)
        reasons = [r for (r,) in con.execute("select reason from raw.dead_letters order by source_offset").fetchall()]
    assert (result.n_loaded, result.n_dead_lettered) == (1, 3)
    assert all("is 10^15 or more" in reason for reason in reasons)
