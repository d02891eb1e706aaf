"""Decoding Kafka messages into an Arrow table, in worker processes.

Per message, Avro decoding and the conversion to columns are pure Python and hold the GIL; done
in the consuming process they would halve its throughput. The ingester hands chunks of raw
messages to a small process pool instead and keeps polling, so consuming, decoding and writing
to DuckDB overlap on different cores. This module imports only what decoding needs, so spawned
workers start quickly.
"""

from __future__ import annotations

import pyarrow as pa

from journeys.pipelines.raw_writer import INCOMING_SCHEMA
from journeys.schemas.contract import DEAD_LETTER_TOPIC
from journeys.schemas.registry import DecodeError, SchemaRegistry

RawMessage = tuple[str, int, int, bytes, str | None]
"""topic, partition, offset, value, and the producer's reason for dead-letter-topic messages."""

_registry: SchemaRegistry | None = None


def init_worker(extra_schemas: list[dict] | None = None, reader_schema: dict | None = None) -> None:
    global _registry
    _registry = SchemaRegistry(reader_schema=reader_schema, timestamps_as_micros=True)
    for schema in extra_schemas or []:
        _registry.register(schema)


def decode_chunk(messages: list[RawMessage]) -> tuple[pa.Table | None, list[tuple]]:
    """Returns the decodable messages as an INCOMING_SCHEMA table and the rest as dead letters
    (topic, partition, offset, bytes, reason)."""
    if _registry is None:
        init_worker()
    records, undecodable = [], []
    for topic, partition, offset, value, producer_reason in messages:
        if topic == DEAD_LETTER_TOPIC:
            undecodable.append((topic, partition, offset, value, f"rejected by producer: {producer_reason}"))
            continue
        try:
            record = _registry.decode(value)
        except DecodeError as exc:
            undecodable.append((topic, partition, offset, value, str(exc)))
            continue
        record["source_topic"] = topic
        record["source_partition"] = partition
        record["source_offset"] = offset
        record["payload"] = value
        records.append(record)
    return (pa.Table.from_pylist(records, schema=INCOMING_SCHEMA) if records else None), undecodable
