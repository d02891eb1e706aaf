"""`journeys ingest`: every touchpoints.* topic into raw.touchpoints, exactly once.

The consumer does not rely on Kafka's group coordination for correctness: it assigns itself
every partition and seeks to the offsets stored in DuckDB, which are written in the same
transaction as the rows (see raw_writer). Offsets are also committed to the Kafka group after
each batch, for lag monitoring only. A `kill -9` between the DuckDB commit and the Kafka commit
therefore loses nothing: on restart the DuckDB offsets win.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from journeys import warehouse
from journeys.pipelines.kafka_config import client_config
from journeys.pipelines.raw_writer import INCOMING_SCHEMA, create_raw_tables, stored_offsets, write_batch
from journeys.schemas.contract import DEAD_LETTER_TOPIC, TOPIC_PREFIX
from journeys.schemas.registry import DecodeError, SchemaRegistry
from journeys.settings import Settings

DEFAULT_GROUP_ID = "journeys-ingest"
log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    n_consumed: int = 0
    n_loaded: int = 0
    n_dead_lettered: int = 0
    n_batches: int = 0
    elapsed_s: float = 0.0
    dead_letter_reasons: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        rate = self.n_consumed / self.elapsed_s if self.elapsed_s else 0.0
        return (f"consumed {self.n_consumed:,} = loaded {self.n_loaded:,} + dead-lettered {self.n_dead_lettered:,} "
                f"in {self.n_batches} batches, {self.elapsed_s:.1f} s ({rate:,.0f} msg/s)")


class Ingester:
    def __init__(self, settings: Settings, group_id: str = DEFAULT_GROUP_ID, registry: SchemaRegistry | None = None,
                 poll_timeout_ms: int = 200):
        self.settings = settings
        self.group_id = group_id
        self.registry = registry or SchemaRegistry()
        self.poll_timeout_ms = poll_timeout_ms
        self._stop = threading.Event()
        self.consumer = KafkaConsumer(
            **client_config(),
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=10_000,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_wait_ms=100,
        )

    def stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """Ctrl-C / SIGTERM finish the current batch and exit cleanly."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    # ---- partition bookkeeping -------------------------------------------------------------
    def _assign(self, resume: dict[tuple[str, int], int]) -> list[TopicPartition]:
        topics = sorted(t for t in self.consumer.topics() if t.startswith(TOPIC_PREFIX))
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(self.consumer.partitions_for_topic(t) or ())]
        self.consumer.assign(partitions)
        beginnings = self.consumer.beginning_offsets(partitions) if partitions else {}
        for tp in partitions:
            # Never seek before the log start (retention may have deleted what we never read).
            self.consumer.seek(tp, max(resume.get((tp.topic, tp.partition), 0), beginnings[tp]))
        return partitions

    # ---- the loop ------------------------------------------------------------------------
    def run(self, once: bool = False, progress=None) -> IngestReport:
        report = IngestReport()
        started = time.monotonic()
        with warehouse.writer(self.settings) as con:
            create_raw_tables(con)
            resume = stored_offsets(con)
        partitions = self._assign(resume)
        end_offsets = self.consumer.end_offsets(partitions) if once and partitions else {}
        position = {tp: self.consumer.position(tp) for tp in partitions}
        if progress is not None and once:
            progress.reset(total=sum(max(end_offsets[tp] - position[tp], 0) for tp in partitions))
        last_topic_refresh = time.monotonic()

        records: list[dict] = []
        undecodable: list[tuple] = []
        next_offsets: dict[tuple[str, int], int] = {}
        batch_started = time.monotonic()

        def caught_up() -> bool:
            return all(position[tp] >= end_offsets[tp] for tp in partitions)

        while not self._stop.is_set():
            if once and caught_up():
                break
            polled = self.consumer.poll(timeout_ms=self.poll_timeout_ms)
            for tp, messages in polled.items():
                for message in messages:
                    self._decode_into(message, records, undecodable)
                if messages:
                    position[tp] = messages[-1].offset + 1
                    next_offsets[(tp.topic, tp.partition)] = position[tp]
                    if progress is not None:
                        progress.update(len(messages))
            n_buffered = len(records) + len(undecodable)
            full = n_buffered >= self.settings.ingest_batch_max_messages
            waited = time.monotonic() - batch_started >= self.settings.ingest_batch_max_wait_s
            if n_buffered and (full or waited or (once and caught_up())):
                self._flush(records, undecodable, next_offsets, report)
                records, undecodable, next_offsets = [], [], {}
                batch_started = time.monotonic()
            if not once and time.monotonic() - last_topic_refresh > 30:
                known = set(partitions)
                partitions = self._assign({**resume, **{(tp.topic, tp.partition): position[tp] for tp in position}})
                position.update({tp: self.consumer.position(tp) for tp in partitions if tp not in known})
                last_topic_refresh = time.monotonic()
        if records or undecodable:
            self._flush(records, undecodable, next_offsets, report)
        self.consumer.close(autocommit=False)
        report.elapsed_s = time.monotonic() - started
        return report

    def _decode_into(self, message, records: list[dict], undecodable: list[tuple]) -> None:
        if message.topic == DEAD_LETTER_TOPIC:
            reason = dict(message.headers or []).get("reason", b"no reason given").decode(errors="replace")
            undecodable.append((message.topic, message.partition, message.offset, message.value,
                                f"rejected by producer: {reason}"))
            return
        try:
            record = self.registry.decode(message.value)
        except DecodeError as exc:
            undecodable.append((message.topic, message.partition, message.offset, message.value, str(exc)))
            return
        record["source_topic"] = message.topic
        record["source_partition"] = message.partition
        record["source_offset"] = message.offset
        record["payload"] = message.value
        records.append(record)

    def _flush(self, records, undecodable, next_offsets, report: IngestReport) -> None:
        table = pa.Table.from_pylist(records, schema=INCOMING_SCHEMA) if records else None
        with warehouse.writer(self.settings) as con:
            result = write_batch(con, self.settings, table, undecodable, next_offsets)
        report.n_consumed += result.n_consumed
        report.n_loaded += result.n_loaded
        report.n_dead_lettered += result.n_dead_lettered
        report.n_batches += 1
        self._commit_group_offsets(next_offsets)

    def _commit_group_offsets(self, next_offsets: dict[tuple[str, int], int]) -> None:
        """For lag monitoring only; DuckDB holds the offsets that count."""
        try:
            self.consumer.commit({TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in next_offsets.items()})
        except Exception as exc:  # a broker hiccup here must not fail a batch that is already durable
            log.warning("could not commit group offsets for lag monitoring (rows are safe in DuckDB): %s", exc)


def ingest(settings: Settings, once: bool = True, group_id: str = DEFAULT_GROUP_ID, progress=None) -> IngestReport:
    return Ingester(settings, group_id=group_id).run(once=once, progress=progress)
