"""Which partitions an ingester reads, and from where.

Two ways, one per engine:
- FixedAssignment (DuckDB): the warehouse has one writer, so one ingester assigns itself every
  touchpoints.* partition and seeks to the offsets stored in DuckDB with the rows. It needs no
  group coordination; it still commits to its group, for lag monitoring.
- GroupAssignment (Spark): several ingesters share the partitions through Kafka's consumer group
  protocol (subscribe, rebalance). A partition's position is the lake's last commit for it,
  never the group's committed offset (which is for lag only and may trail). On a rebalance, the
  chunk read so far is written and committed before the partitions are given up, so the next
  owner resumes exactly where this one stopped; a killed ingester's partitions resume at its last
  commit (pipelines/lake.py rolls its half-finished step forward).

Either way the log check (log_check.py) must confirm a partition's stored position before it is
read, and a position the log no longer holds is a recorded gap, never a silent jump.
"""

from __future__ import annotations

import logging
import re
import time

from kafka import ConsumerRebalanceListener, TopicPartition

from journeys.pipelines.ingest_reading import Reading
from journeys.pipelines.lake_writer import LakeWriter
from journeys.pipelines.log_check import Gap, LogChecker
from journeys.schemas.contract import TOPIC_PREFIX

log = logging.getLogger(__name__)
TOPIC_REFRESH_S = 30.0
"""How often a fixed assignment looks for new topics or partitions."""


def check_positions(checker: LogChecker, reading: Reading, partitions, attempts: int = 10) -> list[Gap]:
    """The first check of a partition must succeed before it is read: until then its stored
    position is not trusted. Retries a broker that does not answer, then gives up loudly."""
    position = {tp: reading.position[tp] for tp in partitions}
    anchors = {tp: reading.to_check[tp] for tp in partitions if tp in reading.to_check}
    for attempt in range(attempts):
        try:
            return checker.check(position, anchors)
        except Exception as exc:
            if attempt == attempts - 1:
                raise RuntimeError(f"cannot check the broker's logs against the stored offsets: "
                                   f"{type(exc).__name__}: {exc}") from exc
            time.sleep(1.0)
    return []


def touchpoint_partitions(consumer) -> list[TopicPartition]:
    topics = sorted(t for t in consumer.topics() if t.startswith(TOPIC_PREFIX))
    return [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]


class FixedAssignment:
    """Every touchpoints.* partition, at the offsets stored in the warehouse (a new one at 0)."""

    def __init__(self, stored: dict[tuple[str, int], tuple[int, str | None]], checker: LogChecker, once: bool):
        self.stored, self.checker, self.once = stored, checker, once
        self.error: BaseException | None = None
        self._refreshed = time.monotonic()

    def start(self, consumer, reading: Reading, progress=None) -> None:
        partitions = touchpoint_partitions(consumer)
        consumer.assign(partitions)
        for tp in partitions:
            offset, digest = self.stored.get((tp.topic, tp.partition), (0, None))
            reading.start(tp, offset, digest, self.once)
        reading.resume_after(check_positions(self.checker, reading, partitions), log)
        reading.fetch_end_offsets()
        if progress is not None and self.once:
            progress.reset(total=sum(max(end - reading.position[tp], 0) for tp, end in reading.end_offsets.items()))

    def ready(self) -> bool:
        return True

    def retake_fenced(self) -> set[TopicPartition]:
        """Nothing to retake: the warehouse has one writer."""
        return set()

    def refresh(self, consumer, reading: Reading) -> None:
        """Pick up topics and partitions created since (assign() replaces the assignment, so every
        partition is put back at its position)."""
        if time.monotonic() - self._refreshed < TOPIC_REFRESH_S:
            return
        partitions = touchpoint_partitions(consumer)
        consumer.assign(partitions)
        for tp in partitions:
            if tp in reading.position:
                consumer.seek(tp, reading.position[tp])
            else:
                reading.start(tp, 0, None, self.once)
        self._refreshed = time.monotonic()


class GroupAssignment(ConsumerRebalanceListener):
    """The partitions Kafka's group protocol gives this member, at the lake's commits."""

    def __init__(self, lake: LakeWriter, checker: LogChecker, once: bool, flush):
        self.lake, self.checker, self.once, self.flush = lake, checker, once, flush
        self.reading: Reading | None = None
        self.error: BaseException | None = None
        """kafka-python logs and swallows a listener's exception; the ingester raises it instead."""
        self._assigned = False

    def start(self, consumer, reading: Reading, progress=None) -> None:
        self.reading = reading
        consumer.subscribe(pattern=f"^{re.escape(TOPIC_PREFIX)}.*", listener=self)

    def ready(self) -> bool:
        """--once waits for the first assignment before it can be caught up."""
        return self._assigned

    def refresh(self, consumer, reading: Reading) -> None:
        """Nothing to do: a pattern subscription picks up new topics with the group's metadata (and
        fenced partitions are taken over right after each poll)."""

    def on_partitions_revoked(self, revoked) -> None:
        """A rebalance (this member still owns `revoked`): commit what was read, then let go. On
        close, after the loop's last chunk, there is nothing left to commit."""
        try:
            self._assigned = False
            if not self.reading.closed:
                self.flush()  # commits everything read so far, before another member may start on it
            self._let_go(revoked)
            if revoked:
                log.info("gave up %d partitions for a rebalance", len(revoked))
        except BaseException as exc:
            self.error = self.error or exc

    def on_partitions_lost(self, lost) -> None:
        """The group moved on without this member (its session expired): another member may be
        reading these already, so what was read of them is discarded, never committed."""
        try:
            self._assigned = False
            self.reading.discard(lost)
            self._let_go(lost)
            if lost:
                log.warning("lost %d partitions (session expired); discarded what was read of them", len(lost))
        except BaseException as exc:
            self.error = self.error or exc

    def _let_go(self, partitions) -> None:
        self.reading.drop(partitions)
        for tp in partitions:
            self.lake.forget(tp.topic, tp.partition)

    def retake_fenced(self) -> set[TopicPartition]:
        """Partitions another writer committed first (one that had lost the group without noticing):
        take each over again from the lake's last commit, and drop what was read of it since.
        Returns them: messages already fetched for them are from before the seek."""
        retaken = set()
        while not self.lake.fenced.empty():
            topic, partition = self.lake.fenced.get_nowait()
            tp = TopicPartition(topic, partition)
            if tp not in self.reading.position:
                continue  # no longer ours anyway
            self.reading.discard([tp])
            self._take(tp)
            retaken.add(tp)
            log.warning("%s[%d]: another writer committed first; resuming after its commit at %d",
                        topic, partition, self.reading.position[tp])
        return retaken

    def _take(self, tp: TopicPartition) -> None:
        epoch = self.reading.next_epoch(tp)
        last = self.lake.adopt(tp.topic, tp.partition, epoch)
        offset, digest = (0, None) if last is None else (last.next_offset, last.last_message_digest)
        self.reading.start(tp, offset, digest, self.once, epoch)

    def on_partitions_assigned(self, assigned) -> None:
        try:
            for tp in assigned:
                self._take(tp)
            self.reading.resume_after(check_positions(self.checker, self.reading, assigned), log)
            self._assigned = True
            log.info("reading %d partitions: %s", len(assigned),
                     ", ".join(f"{tp.topic}[{tp.partition}]@{self.reading.position[tp]}" for tp in sorted(assigned)))
        except BaseException as exc:
            self.error = self.error or exc
