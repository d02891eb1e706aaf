"""Writes validated chunks into the raw lake (pipelines/lake.py): the sink of `journeys ingest` and
`journeys load` when the engine is Spark.

Validation is raw_writer's, not a copy: each chunk goes through `write_batch` into an in-memory
DuckDB holding the raw tables, so the lake gets exactly the rows, dead letters and reasons the
warehouse would (the same SQL rules, poison-row isolation and redaction). Those rows are then
written per source (topic partition, or the load) as Parquet, and committed source by source.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from journeys import warehouse
from journeys.pipelines.lake import (
    DEAD_LETTERS_DIR,
    LOAD_PREFIX,
    TOUCHPOINTS_DIR,
    Commit,
    LakeFenced,
    SourceLog,
    recover_loads,
    source_name,
)
from journeys.pipelines.raw_writer import BatchResult, Undecodable, create_raw_tables, write_batch
from journeys.settings import Settings
from journeys.warehouse import sql_string

logger = logging.getLogger(__name__)


class LakeWriter:
    """One writer process's view of the lake: the sources it owns and their last commit."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lake = settings.lake_path
        self.con = warehouse.configure(duckdb.connect(), settings)
        create_raw_tables(self.con)
        self._logs: dict[tuple[str, int], SourceLog] = {}
        self._next: dict[tuple[str, int], tuple[int, int]] = {}
        """(topic, partition) -> (next step's seq, next offset) of each source this process owns."""
        self._epoch: dict[tuple[str, int], int] = {}
        """Which taking-over of the partition the owned state belongs to (ingest_reading.Reading.epoch):
        a chunk read before the partition was last taken over is not committed."""
        self._lock = threading.Lock()  # adopt/forget (consuming thread) against writes (writer thread)
        self.fenced: queue.Queue = queue.Queue()
        """Partitions another writer committed first: the consuming thread takes them over again."""
        recover_loads(self.lake, settings.lake_orphan_age_s)

    def close(self) -> None:
        self.con.close()

    # ---- ownership ---------------------------------------------------------------------------
    def adopt(self, topic: str, partition: int, epoch: int = 0) -> Commit | None:
        """Take a partition over: recover its log and return its last commit (where to resume)."""
        log = SourceLog(self.lake, source_name(topic, partition))
        last = log.recover(self.settings.lake_orphan_age_s)
        with self._lock:
            self._logs[(topic, partition)] = log
            self._next[(topic, partition)] = (1, 0) if last is None else (last.seq + 1, last.next_offset)
            self._epoch[(topic, partition)] = epoch
        return last

    def forget(self, topic: str, partition: int) -> None:
        with self._lock:
            self._logs.pop((topic, partition), None)
            self._next.pop((topic, partition), None)
            self._epoch.pop((topic, partition), None)

    # ---- writing -------------------------------------------------------------------------
    def write_chunk(self, table: pa.Table | None, undecodable: list[Undecodable],
                    next_offsets: dict[tuple[str, int], tuple[int, str | None]], gaps: list = (),
                    epochs: dict[tuple[str, int], int] | None = None) -> BatchResult:
        """Validate a chunk of Kafka messages and commit each partition's share of it. A partition
        fenced by another writer is skipped (its rows are that writer's) and reported in `fenced`."""
        result = write_batch(self.con, self.settings, table, undecodable, gaps=gaps)
        gap_of = {(gap.topic, gap.partition): gap for gap in gaps}
        n_loaded = n_dead = 0
        try:
            for (topic, partition), (offset, digest) in sorted(next_offsets.items()):
                key = (topic, partition)
                with self._lock:
                    if key not in self._next or (epochs is not None and epochs.get(key) != self._epoch.get(key)):
                        continue  # read before this process (re)took the partition: not its to commit
                    log, (seq, first_offset), epoch = self._logs[key], self._next[key], self._epoch[key]
                where = "source_topic = $topic and source_partition = $partition"
                files, loaded, dead = self._stage_files(log, seq, where, {"topic": topic, "partition": partition})
                gap = gap_of.get(key)
                try:
                    log.commit(Commit(seq, first_offset, offset, digest, result.load_id, loaded, dead, files,
                                      gap=None if gap is None else {**gap.__dict__, "detected_at": str(gap.detected_at)}))
                except LakeFenced as exc:
                    logger.warning("%s", exc)
                    with self._lock:
                        if self._epoch.get(key) == epoch:
                            self._next.pop(key, None)
                            self._epoch[key] = -1  # every chunk still on its way is stale too
                    self.fenced.put(key)
                    continue
                n_loaded, n_dead = n_loaded + loaded, n_dead + dead
                with self._lock:
                    if self._epoch.get(key) == epoch:
                        self._next[key] = (seq + 1, offset)
        finally:
            _clear(self.con)
        return BatchResult(result.load_id, n_loaded + n_dead, n_loaded, n_dead)

    def write_load(self, incoming: str, source: str) -> BatchResult:
        """Validate a bulk load (a SELECT over the file) and commit it as one source of its own."""
        result = write_batch(self.con, self.settings, incoming, kind="load", source=source)
        try:
            log = SourceLog(self.lake, f"{LOAD_PREFIX}{result.load_id}")
            files, n_loaded, n_dead = self._stage_files(log, 1, "true", {})
            log.commit(Commit(1, None, None, None, result.load_id, n_loaded, n_dead, files))
        finally:
            _clear(self.con)
        return result

    def _stage_files(self, log: SourceLog, seq: int, where: str, params: dict) -> tuple[dict[str, str], int, int]:
        """Write the source's rows of this chunk under _incoming; returns {final: waiting} and the counts."""
        con = self.con
        n_loaded = con.execute(f"select count(*) from raw.touchpoints where {where}", params).fetchone()[0]
        n_dead = con.execute(f"select count(*) from raw.dead_letters where {where}", params).fetchone()[0]
        if not n_loaded and not n_dead:
            return {}, 0, 0
        folder = log.new_incoming_dir(seq)
        stem = f"{log.source}+{seq:012d}"
        if n_loaded:
            con.execute(f"copy (select * exclude (channel), occurred_at::date as event_date, channel "
                        f"from raw.touchpoints where {where}) to {sql_string(folder / TOUCHPOINTS_DIR)} "
                        "(format parquet, partition_by (event_date, channel), filename_pattern 'part_{i}')", params)
        if n_dead:
            dead_file = sql_string(f"{folder / DEAD_LETTERS_DIR}.parquet")
            con.execute(f"copy (select * from raw.dead_letters where {where}) to {dead_file} (format parquet)", params)
        files = {}
        for path in sorted(folder.rglob("*.parquet")):
            inside = path.relative_to(folder)
            if inside.parts[0] == TOUCHPOINTS_DIR:
                final = Path(TOUCHPOINTS_DIR, *inside.parts[1:-1], f"{stem}-{path.stem}.parquet")
            else:
                final = Path(DEAD_LETTERS_DIR, f"{stem}.parquet")
            files[str(final)] = str(path.relative_to(self.lake))
        return files, n_loaded, n_dead


def _clear(con: duckdb.DuckDBPyConnection) -> None:
    """The in-memory raw tables hold one chunk at a time."""
    for table in ("touchpoints", "dead_letters", "ingest_offsets", "ingest_gaps", "load_runs"):
        con.execute(f"delete from raw.{table}")

