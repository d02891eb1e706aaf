"""`journeys ingest`: every touchpoints.* topic into raw.touchpoints, exactly once.

The consumer does not rely on Kafka's group coordination for correctness: it assigns itself
every partition and seeks to the offsets stored in DuckDB, which are written in the same
transaction as the rows (see raw_writer). Offsets are also committed to the Kafka group after
each batch, for lag monitoring only. A `kill -9` at any point therefore loses nothing and
duplicates nothing: on restart the DuckDB offsets win.

Three stages overlap: this process polls Kafka; a process pool decodes chunks of messages
(decode_worker); a writer thread writes decoded chunks, in order, to DuckDB. The writer keeps
the warehouse open while chunks are waiting and releases it when it catches up, so builds and
bulk loads get their turn between bursts.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import OffsetOutOfRangeError
from kafka.structs import OffsetAndMetadata

from journeys import publishing, warehouse
from journeys.pipelines import decode_worker
from journeys.pipelines.kafka_config import client_config
from journeys.pipelines.log_check import Anchor, Gap, LogChecker, message_digest
from journeys.pipelines.raw_writer import create_raw_tables, stored_offsets, write_batch
from journeys.schemas.contract import DEAD_LETTER_TOPIC, TOPIC_PREFIX
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
    gaps: list[str] = field(default_factory=list)
    """One line per detected gap (also in raw.ingest_gaps)."""

    def line(self) -> str:
        rate = self.n_consumed / self.elapsed_s if self.elapsed_s else 0.0
        return (f"consumed {self.n_consumed:,} = loaded {self.n_loaded:,} + dead-lettered {self.n_dead_lettered:,} "
                f"in {self.n_batches} batches, {self.elapsed_s:.1f} s ({rate:,.0f} msg/s)")


class _Inline:
    """Stands in for an AsyncResult when decoding runs in-process (decode_workers = 0)."""

    def __init__(self, value):
        self._value = value

    def get(self):
        return self._value


class Ingester:
    def __init__(self, settings: Settings, group_id: str = DEFAULT_GROUP_ID, decode_workers: int | None = None,
                 extra_schemas: list[dict] | None = None, reader_schema: dict | None = None, poll_timeout_ms: int = 200):
        self.settings = settings
        self.group_id = group_id
        self.decode_workers = settings.ingest_decode_workers if decode_workers is None else decode_workers
        self.poll_timeout_ms = poll_timeout_ms
        self._schemas = (extra_schemas, reader_schema)
        self._stop = threading.Event()
        self._pending_publish = False

    def stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """Ctrl-C / SIGTERM finish the chunks already read and exit cleanly."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    # ---- partition bookkeeping -------------------------------------------------------------
    def _assign(self, consumer: KafkaConsumer, position: dict[TopicPartition, int]) -> list[TopicPartition]:
        """Assign every touchpoints.* partition, each at its known position (a new one at 0). A
        position the log no longer holds is the log checker's business, never silently clamped."""
        topics = sorted(t for t in consumer.topics() if t.startswith(TOPIC_PREFIX))
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        for tp in partitions:
            consumer.seek(tp, position.get(tp, 0))
        return partitions

    # ---- the loop ------------------------------------------------------------------------
    def run(self, once: bool = False, progress=None) -> IngestReport:
        report = IngestReport()
        started = time.monotonic()
        with warehouse.writer(self.settings) as con:
            create_raw_tables(con)
            stored = stored_offsets(con)
        pool = None
        if self.decode_workers > 0:
            # spawn, not fork: the parent holds Kafka sockets and DuckDB's threads.
            pool = multiprocessing.get_context("spawn").Pool(
                self.decode_workers, initializer=decode_worker.init_worker, initargs=self._schemas)
        else:
            decode_worker.init_worker(*self._schemas)
        # auto_offset_reset="none": an out-of-range offset raises instead of jumping silently; the
        # log checker decides what was lost and records it.
        consumer = KafkaConsumer(**client_config(), group_id=self.group_id, enable_auto_commit=False,
                                 auto_offset_reset="none", max_poll_records=10_000,
                                 max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_wait_ms=100)
        checker = LogChecker()
        chunks: queue.Queue = queue.Queue(maxsize=max(2, 2 * self.decode_workers))
        self._durable: queue.Queue = queue.Queue()  # offsets the writer committed, for the group commit
        writer_errors: list[BaseException] = []
        writer_thread = threading.Thread(target=self._write_loop, args=(chunks, report, writer_errors),
                                         name="warehouse-writer", daemon=True)
        writer_thread.start()
        try:
            self._consume(consumer, checker, pool, chunks, stored, once, progress, writer_errors, report)
        finally:
            chunks.put(None)
            writer_thread.join()
            self._commit_group_offsets(consumer)
            consumer.close(autocommit=False)
            checker.close()
            if pool is not None:
                pool.terminate()
        if writer_errors:
            raise RuntimeError(f"writing to the warehouse failed: {writer_errors[0]}") from writer_errors[0]
        report.elapsed_s = time.monotonic() - started
        return report

    def _consume(self, consumer, checker, pool, chunks, stored, once, progress, writer_errors, report) -> None:
        position = {TopicPartition(t, p): offset for (t, p), (offset, _) in stored.items()}
        partitions = self._assign(consumer, position)
        position = {tp: position.get(tp, 0) for tp in partitions}
        # The last message read per partition (latest) and the one to read back at the next check.
        latest = {TopicPartition(t, p): Anchor(offset - 1, digest) for (t, p), (offset, digest) in stored.items()
                  if offset > 0}
        to_check = dict(latest)
        buffer: list[decode_worker.RawMessage] = []
        next_offsets: dict[tuple[str, int], tuple[int, str]] = {}
        chunk_size = self.settings.ingest_chunk_messages
        last_topic_refresh = last_publish = last_check = chunk_started = time.monotonic()
        published_once = False

        def submit(gaps=()) -> None:
            nonlocal buffer, next_offsets, chunk_started
            if buffer:
                pending = pool.apply_async(decode_worker.decode_chunk, (buffer,)) if pool else _Inline(
                    decode_worker.decode_chunk(buffer))
            else:
                pending = _Inline((None, []))
            chunks.put((pending, next_offsets, list(gaps)))
            buffer, next_offsets, chunk_started = [], {}, time.monotonic()

        def resume_after(gaps) -> None:
            """Record gaps (after the chunk read so far) and go on from where the broker's log starts."""
            if not gaps:
                return
            if buffer:
                submit()  # what was read before the gap is written before it
            for gap in gaps:
                tp = TopicPartition(gap.topic, gap.partition)
                log.warning("ingest gap: %s", gap.line())
                report.gaps.append(gap.line())
                consumer.seek(tp, gap.resume_offset)
                position[tp] = gap.resume_offset
                latest.pop(tp, None)
                to_check.pop(tp, None)
                next_offsets[(gap.topic, gap.partition)] = (gap.resume_offset, None)
            submit(gaps)

        resume_after(_check_at_start(checker, position, to_check))
        end_offsets = consumer.end_offsets(partitions) if once and partitions else {}
        if progress is not None and once:
            progress.reset(total=sum(max(end_offsets[tp] - position[tp], 0) for tp in partitions))

        def caught_up() -> bool:
            return all(position[tp] >= end_offsets[tp] for tp in partitions)

        while not self._stop.is_set() and not writer_errors:
            if once and caught_up():
                break
            try:
                polled = consumer.poll(timeout_ms=self.poll_timeout_ms)
            except OffsetOutOfRangeError as exc:  # real Kafka's signal; tansu just returns nothing
                out_of_range = set(exc.args[0]) if exc.args and isinstance(exc.args[0], dict) else set(partitions)
                gaps = checker.check({tp: position[tp] for tp in out_of_range if tp in position},
                                     {tp: a for tp, a in latest.items() if tp in out_of_range})
                resume_after(gaps or [_out_of_range_gap(checker, tp, position[tp]) for tp in out_of_range if tp in position])
                continue
            for tp, messages in polled.items():
                if tp.topic == DEAD_LETTER_TOPIC:
                    buffer.extend((m.topic, m.partition, m.offset, m.value,
                                   dict(m.headers or []).get("reason", b"no reason given").decode(errors="replace"))
                                  for m in messages)
                else:
                    buffer.extend((m.topic, m.partition, m.offset, m.value, None) for m in messages)
                if messages:
                    last = messages[-1]
                    position[tp] = last.offset + 1
                    latest[tp] = Anchor(last.offset, message_digest(last.key, last.value, last.timestamp))
                    next_offsets[(tp.topic, tp.partition)] = (position[tp], latest[tp].digest)
                    if progress is not None:
                        progress.update(len(messages))
                if len(buffer) >= chunk_size:
                    submit()
            waited = time.monotonic() - chunk_started >= self.settings.ingest_batch_max_wait_s
            if buffer and (waited or (once and caught_up())):
                submit()
            new_durable = self._commit_group_offsets(consumer)
            if once:
                continue
            now = time.monotonic()
            if now - last_check > self.settings.ingest_verify_interval_s:
                try:
                    resume_after(checker.check(dict(position), to_check))
                    to_check = dict(latest)  # checked: the next check reads back what was read until now
                except Exception as exc:  # broker unreachable (restarting?): keep the anchors, check again later
                    log.warning("log check postponed, the broker did not answer: %s: %s", type(exc).__name__, exc)
                last_check = time.monotonic()
            self._pending_publish = self._pending_publish or new_durable
            if self._pending_publish and (not published_once or now - last_publish > self.settings.publish_interval_s):
                self._publish_raw()
                published_once, last_publish = True, time.monotonic()
            if now - last_topic_refresh > 30:
                partitions = self._assign(consumer, position)
                position.update({tp: 0 for tp in partitions if tp not in position})
                last_topic_refresh = time.monotonic()
        if buffer and not writer_errors:
            submit()

    def _publish_raw(self) -> None:
        """Follow mode publishes the raw layer soon after its first chunk, then every publish_interval_s."""
        try:
            publishing.publish_raw(self.settings)
            self._pending_publish = False
        except publishing.PublishError as exc:  # the rows are safe in the working file; try again later
            log.warning("%s", exc)

    def _write_loop(self, chunks: queue.Queue, report: IngestReport, errors: list) -> None:
        """Writes chunks in the order they were read; holds the warehouse only while chunks wait."""
        item = chunks.get()
        while item is not None:
            try:
                with warehouse.writer(self.settings) as con:
                    while item is not None:
                        pending, next_offsets, gaps = item
                        table, undecodable = pending.get()
                        result = write_batch(con, self.settings, table, undecodable, next_offsets, gaps=gaps)
                        report.n_consumed += result.n_consumed
                        report.n_loaded += result.n_loaded
                        report.n_dead_lettered += result.n_dead_lettered
                        report.n_batches += 1
                        self._durable.put(next_offsets)
                        try:
                            item = chunks.get_nowait()
                        except queue.Empty:
                            break
                if item is not None:
                    item = chunks.get()
            except BaseException as exc:  # nothing of the failed chunk was committed
                errors.append(exc)
                while chunks.get() is not None:  # unblock the consumer, then stop
                    pass
                return

    def _commit_group_offsets(self, consumer) -> bool:
        """Commits what the writer made durable to the Kafka group, for lag monitoring only; True if
        anything new was durable. Runs in the consuming thread: kafka-python's consumer is not thread-safe."""
        offsets: dict[TopicPartition, OffsetAndMetadata] = {}
        while not self._durable.empty():
            for (topic, partition), (offset, _) in self._durable.get_nowait().items():
                offsets[TopicPartition(topic, partition)] = OffsetAndMetadata(offset, "", -1)
        if not offsets:
            return False
        try:
            consumer.commit(offsets)
        except Exception as exc:  # a broker hiccup here must not fail chunks that are already durable
            log.warning("could not commit group offsets for lag monitoring (rows are safe in DuckDB): %s", exc)
        return True


def _check_at_start(checker: LogChecker, position, anchors, attempts: int = 10) -> list[Gap]:
    """The first check must succeed before anything is read: without it, stored offsets are not trusted."""
    for attempt in range(attempts):
        try:
            return checker.check(position, anchors)
        except Exception as exc:
            if attempt == attempts - 1:
                raise RuntimeError(f"cannot check the broker's logs against the stored offsets: "
                                   f"{type(exc).__name__}: {exc}") from exc
            time.sleep(1.0)
    return []


def _out_of_range_gap(checker: LogChecker, tp: TopicPartition, position: int) -> Gap:
    """The broker said OFFSET_OUT_OF_RANGE but the log check found nothing more precise."""
    start = checker.log_start(tp)
    return Gap(tp.topic, tp.partition, position, start, start, "the broker answered OFFSET_OUT_OF_RANGE",
               dt.datetime.now(dt.UTC).replace(tzinfo=None))


def ingest(settings: Settings, once: bool = True, group_id: str = DEFAULT_GROUP_ID, progress=None) -> IngestReport:
    return Ingester(settings, group_id=group_id).run(once=once, progress=progress)
