"""Does the broker still hold the log our stored offsets point into?

Stored offsets are only meaningful in the log they were read from. A broker that restarts empty,
a topic deleted and re-created, or retention that deletes segments before they were read all leave
offsets that look valid and skip data silently: a new log that has already grown past the stored
offset is read from there on, and everything before it is never seen.

The check is the same on any Kafka-compatible broker, because it does not rely on end offsets or on
OFFSET_OUT_OF_RANGE (brokers differ in both): the ingester keeps, per partition, an *anchor*, the
offset and digest of the last message it read, stored with the offsets in DuckDB. A check reads the
anchor message back. If it is missing or different, the log was replaced; if the log now starts
after the stored offset, retention deleted messages we never read. Either way it is a gap: it is
recorded (raw.ingest_gaps, and a warning), and consumption resumes from the earliest offset the
broker has, so every event produced after the restart is read.

A gap may re-read messages the ingester had already taken from the new log since the previous
check; those are redeliveries (kept in raw, removed by staging's dedup), never losses.
"""

from __future__ import annotations

import datetime as dt
import time
import zlib
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import OffsetOutOfRangeError

from journeys.pipelines.kafka_config import client_config

ANCHOR_READ_TIMEOUT_S = 10.0
"""How long a check waits for an anchor message before calling it missing. Generous: a false
'missing' costs redeliveries, never data."""


def message_digest(key: bytes | None, value: bytes | None, timestamp: int | None) -> str:
    """Identifies one message: CRC-32 of key and value, and its timestamp."""
    return f"{zlib.crc32(key or b''):08x}{zlib.crc32(value or b''):08x}-{timestamp}"


@dataclass(frozen=True)
class Anchor:
    offset: int
    digest: str | None
    """None for offsets stored before digests were kept: then only the message's presence is checked."""


@dataclass(frozen=True)
class Gap:
    topic: str
    partition: int
    stored_offset: int
    log_start: int
    resume_offset: int
    reason: str
    detected_at: dt.datetime

    def line(self) -> str:
        return (f"{self.topic}[{self.partition}]: {self.reason}; stored offset {self.stored_offset}, "
                f"resuming at {self.resume_offset} (recorded in raw.ingest_gaps)")


class LogChecker:
    """Reads anchor messages back with a consumer of its own (no group), so the ingester's positions are untouched."""

    def __init__(self):
        self._consumer = KafkaConsumer(**client_config(), enable_auto_commit=False, auto_offset_reset="none",
                                       max_poll_records=500, fetch_max_wait_ms=100)

    def close(self) -> None:
        self._consumer.close(autocommit=False)

    def log_start(self, tp: TopicPartition) -> int:
        return self._consumer.beginning_offsets([tp])[tp]

    def check(self, positions: dict[TopicPartition, int], anchors: dict[TopicPartition, Anchor]) -> list[Gap]:
        """Gaps for the partitions whose position no longer points into the log it was read from."""
        if not positions:
            return []
        starts = self._consumer.beginning_offsets(list(positions))
        gaps, to_read = [], {}
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for tp, position in positions.items():
            start = starts[tp]
            anchor = anchors.get(tp)
            if position < start:
                gaps.append(Gap(tp.topic, tp.partition, position, start, start,
                                f"the log now starts at {start}: offsets {position}-{start - 1} were deleted "
                                "(retention) before they were read", now))
            elif anchor is not None and anchor.offset >= start:
                to_read[tp] = anchor
        found = self._read_first(to_read)
        for tp, anchor in to_read.items():
            record = found.get(tp)
            if record is None:
                what = f"the message at offset {anchor.offset} we read last is gone"
            elif record.offset != anchor.offset:
                what = f"the message at offset {anchor.offset} we read last is gone (next is {record.offset})"
            elif anchor.digest is not None and message_digest(record.key, record.value, record.timestamp) != anchor.digest:
                what = f"the message at offset {anchor.offset} is not the one we read"
            else:
                continue
            gaps.append(Gap(tp.topic, tp.partition, positions[tp], starts[tp], starts[tp],
                            f"{what}: the log was replaced (broker restarted empty, or topic re-created)", now))
        return gaps

    def _read_first(self, anchors: dict[TopicPartition, Anchor]) -> dict:
        """The first message at or after each anchor's offset, or nothing for those the broker does not have."""
        if not anchors:
            return {}
        consumer = self._consumer
        consumer.assign(list(anchors))
        for tp, anchor in anchors.items():
            consumer.seek(tp, anchor.offset)
        found: dict = {}
        deadline = time.monotonic() + ANCHOR_READ_TIMEOUT_S
        while len(found) < len(anchors) and time.monotonic() < deadline:
            try:
                batches = consumer.poll(timeout_ms=200)
            except OffsetOutOfRangeError as exc:  # real Kafka: the anchor is past the new log's end
                for tp in exc.args[0] if exc.args and isinstance(exc.args[0], dict) else ():
                    found.setdefault(tp, None)
                    consumer.pause(tp)
                continue
            for tp, records in batches.items():
                if records and tp not in found:
                    found[tp] = records[0]
                    consumer.pause(tp)
        consumer.assign([])
        return {tp: record for tp, record in found.items() if record is not None}
