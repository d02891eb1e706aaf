"""What the consuming thread of `journeys ingest` knows: where each partition it reads stands, and
the chunk it is filling. Both ways of owning partitions (ingest_assignment.py) start, move and drop
partitions through it; the writer thread only ever sees the chunks it hands over."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable

from kafka import TopicPartition

from journeys.pipelines import decode_worker
from journeys.pipelines.log_check import Anchor, Gap, message_digest
from journeys.schemas.contract import DEAD_LETTER_TOPIC


class _Inline:
    """Stands in for an AsyncResult when decoding runs in-process (decode_workers = 0)."""

    def __init__(self, value):
        self._value = value

    def get(self):
        return self._value


class InFlight:
    """Chunks handed to the writer and not yet written: a rebalance waits until none are left."""

    def __init__(self):
        self._count = 0
        self._changed = threading.Condition()

    def add(self) -> None:
        with self._changed:
            self._count += 1

    def done(self) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_idle(self, give_up: Callable[[], bool]) -> None:
        with self._changed:
            while self._count and not give_up():
                self._changed.wait(timeout=0.1)


class Reading:
    """Positions, log-check anchors and the open chunk of the partitions this process reads."""

    def __init__(self, consumer, pool, chunks: queue.Queue, in_flight: InFlight, report, progress=None):
        self.consumer, self.pool, self.chunks, self.in_flight = consumer, pool, chunks, in_flight
        self.report, self.progress = report, progress
        self.position: dict[TopicPartition, int] = {}
        self.latest: dict[TopicPartition, Anchor] = {}
        """The last message read per partition."""
        self.to_check: dict[TopicPartition, Anchor] = {}
        """The anchor the next log check reads back."""
        self.end_offsets: dict[TopicPartition, int] = {}
        """Where --once stops, per partition (taken soon after the partition was started)."""
        self._ends_wanted: set[TopicPartition] = set()
        self.epoch: dict[TopicPartition, int] = {}
        """How many times each partition was started: a chunk carries the epochs it was read in, so
        a writer can tell a chunk read before a partition was taken over again (lake_writer.py)."""
        self.buffer: list[decode_worker.RawMessage] = []
        self.next_offsets: dict[tuple[str, int], tuple[int, str | None]] = {}
        self.chunk_started = time.monotonic()
        self.closed = False
        """Set once the loop has handed over its last chunk: nothing more may be submitted."""

    # ---- partitions ----------------------------------------------------------------------
    def next_epoch(self, tp: TopicPartition) -> int:
        return self.epoch.get(tp, 0) + 1

    def start(self, tp: TopicPartition, offset: int, digest: str | None, once: bool, epoch: int | None = None) -> None:
        """Read `tp` from `offset`; `digest` identifies the message before it (None: none known)."""
        self.epoch[tp] = self.next_epoch(tp) if epoch is None else epoch
        self.consumer.seek(tp, offset)
        self.position[tp] = offset
        if offset > 0:
            self.latest[tp] = self.to_check[tp] = Anchor(offset - 1, digest)
        if once:
            self._ends_wanted.add(tp)

    def drop(self, partitions: Iterable[TopicPartition]) -> None:
        for tp in partitions:
            for known in (self.position, self.latest, self.to_check, self.end_offsets):
                known.pop(tp, None)
            self._ends_wanted.discard(tp)

    def discard(self, partitions: Iterable[TopicPartition]) -> None:
        """Forget what the open chunk holds of `partitions` (lost, or taken over by another writer)."""
        gone = {(tp.topic, tp.partition) for tp in partitions}
        self.buffer = [m for m in self.buffer if (m[0], m[1]) not in gone]
        self.next_offsets = {key: value for key, value in self.next_offsets.items() if key not in gone}

    def fetch_end_offsets(self) -> None:
        """End offsets of the partitions started since: asked outside poll(), because kafka-python
        refuses blocking calls from a rebalance callback (its network thread)."""
        if self._ends_wanted:
            self.end_offsets.update(self.consumer.end_offsets(sorted(self._ends_wanted)))
            self._ends_wanted.clear()

    def caught_up(self) -> bool:
        self.fetch_end_offsets()
        return all(self.position[tp] >= end for tp, end in self.end_offsets.items())

    # ---- the chunk --------------------------------------------------------------------------
    def take(self, tp: TopicPartition, messages: list) -> None:
        if tp.topic == DEAD_LETTER_TOPIC:
            self.buffer.extend((m.topic, m.partition, m.offset, m.value,
                                dict(m.headers or []).get("reason", b"no reason given").decode(errors="replace"))
                               for m in messages)
        else:
            self.buffer.extend((m.topic, m.partition, m.offset, m.value, None) for m in messages)
        if messages:
            last = messages[-1]
            self.position[tp] = last.offset + 1
            self.latest[tp] = Anchor(last.offset, message_digest(last.key, last.value, last.timestamp))
            self.next_offsets[(tp.topic, tp.partition)] = (self.position[tp], self.latest[tp].digest)
            if self.progress is not None:
                self.progress.update(len(messages))

    def submit(self, gaps: list[Gap] = ()) -> None:
        """Hand the open chunk (decoding, in the pool) and its offsets to the writer; start a new one."""
        if self.buffer:
            pending = (self.pool.apply_async(decode_worker.decode_chunk, (self.buffer,)) if self.pool
                       else _Inline(decode_worker.decode_chunk(self.buffer)))
        else:
            pending = _Inline((None, []))
        if self.closed:
            raise RuntimeError("a chunk was submitted after the ingester stopped")
        epochs = {key: self.epoch.get(TopicPartition(*key), 0) for key in self.next_offsets}
        self.in_flight.add()
        self.chunks.put((pending, self.next_offsets, list(gaps), epochs))
        self.buffer, self.next_offsets, self.chunk_started = [], {}, time.monotonic()

    def resume_after(self, gaps: list[Gap], log) -> None:
        """Record gaps (after the chunk read so far) and go on from where the broker's log starts."""
        if not gaps:
            return
        if self.buffer:
            self.submit()  # what was read before the gap is written before it
        for gap in gaps:
            tp = TopicPartition(gap.topic, gap.partition)
            log.warning("ingest gap: %s", gap.line())
            self.report.gaps.append(gap.line())
            self.consumer.seek(tp, gap.resume_offset)
            self.position[tp] = gap.resume_offset
            self.latest.pop(tp, None)
            self.to_check.pop(tp, None)
            self.next_offsets[(gap.topic, gap.partition)] = (gap.resume_offset, None)
        self.submit(gaps)
