"""Sends touchpoints to Kafka: scrubs PII, encodes Avro, keys by customer, one topic per channel.

Every record passes schemas/pii.py's rule first (PII-named fields and property keys hashed into
email_hash / phone_hash and dropped, free text redacted), so no raw address or phone number
reaches a topic. A record that cannot be encoded (a missing required field, an unparseable
timestamp, an unknown channel with no topic to go to) is not dropped: it goes to the dead-letter
topic as JSON, redacted again as bytes, with the (redacted) reason in a header, and ingestion
files it in raw.dead_letters.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from kafka import KafkaProducer

from journeys.pipelines.kafka_config import client_config
from journeys.schemas.contract import CHANNELS, DEAD_LETTER_TOPIC, partition_key, topic_for
from journeys.schemas.pii import redact_bytes, redact_text, scrub_record
from journeys.schemas.registry import Encoder


def _json_default(value):
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


class TouchpointProducer:
    """Batched, idempotent producer (acks=all). Use as a context manager; `flush()` before exit."""

    def __init__(self, encoder: Encoder | None = None, **overrides):
        config = {
            **client_config(),
            "linger_ms": 20,
            "batch_size": 512 * 1024,
            "max_request_size": 8 * 1024 * 1024,
            **overrides,
        }
        self._producer = KafkaProducer(**config)
        self._encoder = encoder or Encoder()
        self.n_sent = 0
        self.n_dead_lettered = 0

    def send(self, record: dict) -> None:
        record = scrub_record(record)
        channel = record.get("channel")
        if channel not in CHANNELS:
            self.dead_letter(record, f"unknown channel {channel!r}: no topic to send it to")
            return
        try:
            payload = self._encoder.encode(record)
        except Exception as exc:  # fastavro's errors name the offending field
            self.dead_letter(record, f"cannot encode as a touchpoint: {type(exc).__name__}: {exc}")
            return
        self._producer.send(topic_for(channel), value=payload, key=partition_key(record).encode())
        self.n_sent += 1

    def send_encoded(self, topic: str, key: bytes | None, payload: bytes) -> None:
        """Send bytes as they are (replays, tests of what the consumer does with bad input)."""
        self._producer.send(topic, value=payload, key=key)
        self.n_sent += 1

    def dead_letter(self, record: dict, reason: str) -> None:
        """The record as JSON, scrubbed as a record and then redacted as bytes: a field the record
        rule does not look at (an unknown top-level key, a nested value) is still searched."""
        text = json.dumps(scrub_record(record), default=_json_default, sort_keys=True, ensure_ascii=False)
        self._producer.send(DEAD_LETTER_TOPIC, value=redact_bytes(text.encode()),
                            headers=[("reason", redact_text(reason).encode())])
        self.n_dead_lettered += 1

    def send_all(self, records: Iterable[dict], progress=None) -> int:
        for record in records:
            self.send(record)
            if progress is not None:
                progress.update(1)
        self.flush()
        return self.n_sent

    def flush(self) -> None:
        self._producer.flush()

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> TouchpointProducer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
