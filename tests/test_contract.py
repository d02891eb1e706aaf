"""The wire format and schema evolution, through the real broker."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.registry import DecodeError, Encoder, SchemaRegistry, load_schema, schema_fingerprint
from tests.conftest import touchpoint

V2 = json.loads((Path(__file__).parent / "fixtures" / "touchpoint.v2.avsc").read_text())


def test_fingerprint_byte_order_matches_the_avro_specification():
    """CRC-64-AVRO of the schema "null" is 0x63DD24E7CC258F8A; on the wire it is little-endian."""
    assert schema_fingerprint("null") == (0x63DD24E7CC258F8A).to_bytes(8, "little")


def test_message_starts_with_single_object_header_and_fingerprint():
    """C3 01, then the writer schema's fingerprint."""
    message = Encoder().encode(touchpoint("e1"))
    assert message[:2] == b"\xc3\x01"
    assert message[2:10] == schema_fingerprint(load_schema(1))


def test_v1_reader_reads_v2_data_and_drops_the_new_field():
    """A registered v2 writer schema resolves into the v1 reader."""
    registry = SchemaRegistry()
    registry.register(V2)
    record = registry.decode(Encoder(V2).encode(touchpoint("e1", device_type="kiosk")))
    assert record["event_id"] == "e1" and "device_type" not in record


def test_v2_reader_reads_v1_data_with_the_default():
    """v1 data gets the new optional field's default (null) under a v2 reader."""
    record = SchemaRegistry(reader_schema=V2).decode(Encoder().encode(touchpoint("e1")))
    assert record["device_type"] is None and record["event_id"] == "e1"


def test_unknown_writer_schema_is_a_decode_error():
    """A writer schema nobody registered is not guessed at."""
    with pytest.raises(DecodeError, match="unknown writer schema fingerprint"):
        SchemaRegistry().decode(Encoder(V2).encode(touchpoint("e1")))


@pytest.mark.slow
def test_v2_messages_are_ingested_by_the_current_consumer(broker, settings):
    """v2 producer -> Kafka -> v1 consumer (with v2 registered) -> raw.touchpoints."""
    with TouchpointProducer(encoder=Encoder(V2)) as producer:
        producer.send_all([touchpoint("v2-a", device_type="mobile"), touchpoint("v2-b", channel="store")])
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint("v1-a")])
    report = Ingester(settings, extra_schemas=[V2]).run(once=True)
    assert (report.n_loaded, report.n_dead_lettered) == (3, 0)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.sql("select event_id from raw.touchpoints order by 1").fetchall() == [("v1-a",), ("v2-a",), ("v2-b",)]


@pytest.mark.slow
def test_v1_messages_are_ingested_by_a_v2_reader(broker, settings):
    """A consumer upgraded to a v2 reader still reads v1 data."""
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint("v1-a"), touchpoint("v1-b", channel="email")])
    report = Ingester(settings, reader_schema=V2).run(once=True)
    assert (report.n_loaded, report.n_dead_lettered) == (2, 0)
