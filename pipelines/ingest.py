"""`journeys ingest`: every touchpoints.* topic into the raw layer, exactly once.

The raw layer is the warehouse's raw.touchpoints (engine duckdb) or the raw lake (engine spark,
pipelines/lake.py). Exactly once never rests on Kafka's committed offsets: each partition's
position is stored with its rows, in the same DuckDB transaction (raw_writer) or in the lake's
commit record for the files (lake.py), and a restart resumes there. A `kill -9` at any point
therefore loses nothing and duplicates nothing. Offsets are also committed to the Kafka group
after each chunk, for lag monitoring only.

Who reads which partition (ingest_assignment.py): with DuckDB one ingester reads them all (the
warehouse has one writer); with the lake several `journeys ingest` processes in one consumer
group split them, and a rebalance commits what was read before it hands partitions over.

Three stages overlap: this process polls Kafka (ingest_reading.py holds what it knows); a process
pool decodes chunks of messages (decode_worker); a writer thread writes decoded chunks, in order.
The DuckDB writer keeps the warehouse open while chunks are waiting and releases it when it
catches up, so builds and bulk loads get their turn between bursts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import multiprocessing
import queue
import signal
import threading
import time
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import NoOffsetForPartitionError, OffsetOutOfRangeError
from kafka.structs import OffsetAndMetadata

from journeys import publishing, warehouse
from journeys.pipelines import decode_worker
from journeys.pipelines.ingest_assignment import FixedAssignment, GroupAssignment
from journeys.pipelines.ingest_reading import InFlight, Reading
from journeys.pipelines.kafka_config import client_config
from journeys.pipelines.lake_writer import LakeWriter
from journeys.pipelines.log_check import Gap, LogChecker
from journeys.pipelines.raw_writer import create_raw_tables, stored_offsets, write_batch
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


class Ingester:
    def __init__(self, settings: Settings, group_id: str = DEFAULT_GROUP_ID, decode_workers: int | None = None,
                 extra_schemas: list[dict] | None = None, reader_schema: dict | None = None, poll_timeout_ms: int = 200):
        self.settings = settings
        self.group_id = group_id
        self.to_lake = settings.engine == "spark"
        """Spark engine: raw goes to the lake, and ingesters share the partitions as a consumer group."""
        self.decode_workers = settings.ingest_decode_workers if decode_workers is None else decode_workers
        self.poll_timeout_ms = poll_timeout_ms
        self._schemas = (extra_schemas, reader_schema)
        self._stop = threading.Event()
        self._pending_publish = False
        self._lake: LakeWriter | None = None

    def stop(self) -> None:
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """Ctrl-C / SIGTERM finish the chunks already read and exit cleanly."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: self.stop())

    # ---- the loop ------------------------------------------------------------------------
    def run(self, once: bool = False, progress=None) -> IngestReport:
        report = IngestReport()
        started = time.monotonic()
        stored = {}
        if self.to_lake:
            self._lake = LakeWriter(self.settings)  # positions come with each partition's assignment
        else:
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
        group = {"session_timeout_ms": int(self.settings.ingest_session_timeout_s * 1000),
                 "heartbeat_interval_ms": int(self.settings.ingest_session_timeout_s * 1000 / 3)}
        consumer = KafkaConsumer(**client_config(), group_id=self.group_id, enable_auto_commit=False,
                                 auto_offset_reset="none", max_poll_records=10_000,
                                 max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_wait_ms=100,
                                 **(group if self.to_lake else {}))
        checker = LogChecker()
        chunks: queue.Queue = queue.Queue(maxsize=max(2, 2 * self.decode_workers))
        in_flight = InFlight()
        self._durable: queue.Queue = queue.Queue()  # offsets the writer committed, for the group commit
        writer_errors: list[BaseException] = []
        writer_thread = threading.Thread(target=self._write_loop, args=(chunks, in_flight, report, writer_errors),
                                         name="raw-writer", daemon=True)
        writer_thread.start()
        self._writer = writer_thread
        reading = Reading(consumer, pool, chunks, in_flight, report, progress)
        try:
            self._consume(consumer, checker, reading, stored, once, progress, writer_errors)
        finally:
            reading.closed = True  # also after an error: closing the consumer revokes, and must not flush
            chunks.put(None)
            writer_thread.join()
            self._commit_group_offsets(consumer)
            consumer.close(autocommit=False)
            checker.close()
            if pool is not None:
                pool.terminate()
            if self._lake is not None:
                self._lake.close()
        if writer_errors:
            where = f"the lake {self.settings.lake_path}" if self.to_lake else "the warehouse"
            raise RuntimeError(f"writing to {where} failed: {writer_errors[0]}") from writer_errors[0]
        report.elapsed_s = time.monotonic() - started
        return report

    def _consume(self, consumer, checker, reading: Reading, stored, once, progress, writer_errors) -> None:
        if self.to_lake:
            def flush() -> None:  # before a rebalance hands partitions over: everything read is committed
                if reading.buffer or reading.next_offsets:
                    reading.submit()
                reading.in_flight.wait_idle(give_up=lambda: bool(writer_errors) or not self._writer.is_alive())
            assignment = GroupAssignment(self._lake, checker, once, flush)
        else:
            assignment = FixedAssignment(stored, checker, once)
        assignment.start(consumer, reading, progress)
        chunk_size = self.settings.ingest_chunk_messages
        last_publish = last_check = time.monotonic()
        published_once = False

        while not self._stop.is_set() and not writer_errors:
            if once and assignment.ready() and reading.caught_up():
                break
            try:
                polled = consumer.poll(timeout_ms=self.poll_timeout_ms)
            except NoOffsetForPartitionError as exc:  # a partition the rebalance callback could not position
                raise RuntimeError(f"taking over partitions failed: {assignment.error or exc}") from (
                    assignment.error or exc)
            except OffsetOutOfRangeError as exc:  # real Kafka's signal; tansu just returns nothing
                position = reading.position
                out_of_range = set(exc.args[0]) if exc.args and isinstance(exc.args[0], dict) else set(position)
                gaps = checker.check({tp: position[tp] for tp in out_of_range if tp in position},
                                     {tp: a for tp, a in reading.latest.items() if tp in out_of_range})
                reading.resume_after(gaps or [_out_of_range_gap(checker, tp, position[tp])
                                              for tp in out_of_range if tp in position], log)
                continue
            if assignment.error is not None:  # raised in a rebalance callback: nothing of this poll is taken
                raise RuntimeError(f"taking over partitions failed: {assignment.error}") from assignment.error
            retaken = assignment.retake_fenced()  # re-seeked: this poll's messages of them are from before
            for tp, messages in polled.items():
                if tp not in reading.position or tp in retaken:
                    continue  # revoked while these were in flight (the next owner reads them), or stale
                reading.take(tp, messages)
                if len(reading.buffer) >= chunk_size:
                    reading.submit()
            waited = time.monotonic() - reading.chunk_started >= self.settings.ingest_batch_max_wait_s
            if reading.buffer and (waited or (once and reading.caught_up())):
                reading.submit()
            new_durable = self._commit_group_offsets(consumer)
            if once:
                continue
            now = time.monotonic()
            if now - last_check > self.settings.ingest_verify_interval_s:
                try:
                    reading.resume_after(checker.check(dict(reading.position), reading.to_check), log)
                    reading.to_check = dict(reading.latest)  # checked: next time, what was read until now
                except Exception as exc:  # broker unreachable (restarting?): keep the anchors, check again later
                    log.warning("log check postponed, the broker did not answer: %s: %s", type(exc).__name__, exc)
                last_check = time.monotonic()
            self._pending_publish = self._pending_publish or (new_durable and not self.to_lake)
            if self._pending_publish and (not published_once or now - last_publish > self.settings.publish_interval_s):
                self._publish_raw()
                published_once, last_publish = True, time.monotonic()
            assignment.refresh(consumer, reading)
        if reading.buffer and not writer_errors:
            reading.submit()
        reading.closed = True

    def _publish_raw(self) -> None:
        """Follow mode publishes the raw layer soon after its first chunk, then every publish_interval_s."""
        try:
            publishing.publish_raw(self.settings)
            self._pending_publish = False
        except publishing.PublishError as exc:  # the rows are safe in the working file; try again later
            log.warning("%s", exc)

    @contextlib.contextmanager
    def _sink(self):
        """Where chunks go: a function (table, undecodable, next_offsets, gaps) -> BatchResult. The
        warehouse is held open only while chunks are waiting."""
        if self._lake is not None:
            yield self._lake.write_chunk
            return
        with warehouse.writer(self.settings) as con:  # one writer: every chunk is its own (no epochs)
            yield lambda table, undecodable, next_offsets, gaps, epochs: write_batch(
                con, self.settings, table, undecodable, next_offsets, gaps=gaps)

    def _write_loop(self, chunks: queue.Queue, in_flight: InFlight, report: IngestReport, errors: list) -> None:
        """Writes chunks in the order they were read; holds the warehouse only while chunks wait."""
        item = chunks.get()
        while item is not None:
            try:
                with self._sink() as write:
                    while item is not None:
                        pending, next_offsets, gaps, epochs = item
                        table, undecodable = pending.get()
                        result = write(table, undecodable, next_offsets, gaps, epochs)
                        report.n_consumed += result.n_consumed
                        report.n_loaded += result.n_loaded
                        report.n_dead_lettered += result.n_dead_lettered
                        report.n_batches += 1
                        self._durable.put(next_offsets)
                        in_flight.done()
                        try:
                            item = chunks.get_nowait()
                        except queue.Empty:
                            break
                if item is not None:
                    item = chunks.get()
            except BaseException as exc:  # nothing of the failed chunk was committed
                errors.append(exc)
                in_flight.done()
                while (item := chunks.get()) is not None:  # unblock the consumer, then stop
                    in_flight.done()
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
        if self.to_lake:  # a partition handed over since: its new owner commits its lag
            owned = consumer.assignment()
            offsets = {tp: meta for tp, meta in offsets.items() if tp in owned}
        try:
            consumer.commit(offsets)
        except Exception as exc:  # a broker hiccup here must not fail chunks that are already durable
            log.warning("could not commit group offsets for lag monitoring (rows are safe in DuckDB): %s", exc)
        return True


def _out_of_range_gap(checker: LogChecker, tp: TopicPartition, position: int) -> Gap:
    """The broker said OFFSET_OUT_OF_RANGE but the log check found nothing more precise."""
    start = checker.log_start(tp)
    return Gap(tp.topic, tp.partition, position, start, start, "the broker answered OFFSET_OUT_OF_RANGE",
               dt.datetime.now(dt.UTC).replace(tzinfo=None))


def ingest(settings: Settings, once: bool = True, group_id: str = DEFAULT_GROUP_ID, progress=None) -> IngestReport:
    return Ingester(settings, group_id=group_id).run(once=once, progress=progress)
