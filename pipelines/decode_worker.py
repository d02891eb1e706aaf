"""Decoding Kafka messages into an Arrow table, in worker processes.

Per message, Avro decoding and the conversion to columns are pure Python and hold the GIL; done
in the consuming process they would halve its throughput. The ingester hands chunks of raw
messages to a small process pool instead and keeps polling, so consuming, decoding and writing
to DuckDB overlap on different cores. This module imports only what decoding needs, so spawned
workers start quickly.

Third-party producers may not scrub personal data, so decoded records get schemas/pii.py's rule
too, before they become rows. Checking every record in Python would cost about as much as
decoding it; instead RE2 scans the built Arrow columns once (pii.rows_needing_scrub) and only the
rows it marks — none, normally — go through the Python rule. Such a row's payload (kept for a
possible dead letter) is re-encoded from the scrubbed record with the reader schema, so it stays
decodable Avro without the personal data; undecodable messages are redacted as bytes.
"""

from __future__ import annotations

import pyarrow as pa

from journeys.pipelines.raw_writer import INCOMING_SCHEMA
from journeys.schemas import pii
from journeys.schemas.contract import DEAD_LETTER_TOPIC
from journeys.schemas.registry import DecodeError, Encoder, SchemaRegistry, physical_schema

RawMessage = tuple[str, int, int, bytes, str | None]
"""topic, partition, offset, value, and the producer's reason for dead-letter-topic messages."""

_registry: SchemaRegistry | None = None
_encoder: Encoder | None = None


def init_worker(extra_schemas: list[dict] | None = None, reader_schema: dict | None = None) -> None:
    global _registry, _encoder
    _registry = SchemaRegistry(reader_schema=reader_schema, timestamps_as_micros=True)
    for schema in extra_schemas or []:
        _registry.register(schema)
    # Timestamps stay microseconds; the fingerprint ignores logical types, so the header is the reader's.
    _encoder = Encoder(physical_schema(_registry.reader_schema))


def _scrubbed_payload(record: dict, value: bytes) -> bytes:
    try:
        return _encoder.encode(record)
    except Exception:  # cannot happen for a record decoded with this schema; never keep the PII though
        return pii.redact_bytes(value)


def decode_chunk(messages: list[RawMessage]) -> tuple[pa.Table | None, list[tuple]]:
    """Returns the decodable messages as an INCOMING_SCHEMA table and the rest as dead letters
    (topic, partition, offset, bytes, reason)."""
    if _registry is None:
        init_worker()
    records, undecodable = [], []
    for topic, partition, offset, value, producer_reason in messages:
        if topic == DEAD_LETTER_TOPIC:
            undecodable.append((topic, partition, offset, pii.redact_bytes(value),
                                pii.redact_text(f"rejected by producer: {producer_reason}")))
            continue
        try:
            record = _registry.decode(value)
        except DecodeError as exc:
            undecodable.append((topic, partition, offset, pii.redact_bytes(value), pii.redact_text(str(exc))))
            continue
        record["source_topic"] = topic
        record["source_partition"] = partition
        record["source_offset"] = offset
        record["payload"] = value
        records.append(record)
    if not records:
        return None, undecodable
    table = pa.Table.from_pylist(records, schema=INCOMING_SCHEMA)
    flagged = pii.rows_needing_scrub(table).nonzero()[0]
    if len(flagged):
        for i in flagged:
            scrubbed = pii.scrub_record(records[i])
            if scrubbed is not records[i]:
                scrubbed["payload"] = _scrubbed_payload(scrubbed, scrubbed["payload"])
                records[i] = scrubbed
        table = pa.Table.from_pylist(records, schema=INCOMING_SCHEMA)
    return table, undecodable
