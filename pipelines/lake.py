"""The raw lake: Hive-partitioned Parquet that several ingesters write exactly once, for Spark.

Layout under the lake folder (settings.lake_path):

    touchpoints/event_date=2026-03-01/channel=web/<source>+<seq>.parquet   valid rows (raw.touchpoints' columns but channel)
    dead_letters/<source>+<seq>.parquet                                    rejected messages (raw.dead_letters' columns)
    _commits/<source>/<seq>.json                                           one commit record per file set
    _incoming/<source>/<seq>-<token>/...                                   files not yet committed (hidden from readers)

A *source* is a Kafka topic partition (`touchpoints.web+0`) or one bulk load (`load+<load_id>`).
Spark, Hive and DuckDB's `hive_partitioning` read `touchpoints/` as one table partitioned by
event_date (the UTC date of occurred_at) and channel, and skip folders starting with `_`.

Exactly once, per source. A writer puts a chunk's files under `_incoming/`, then commits by
creating the source's next commit record, `<seq>.json`, as a hard link: the link fails if the
record exists, so of two writers that believe they own a partition (a consumer that lost the
group without noticing, and its successor) exactly one commits each step, and the other is
fenced (LakeFenced). Only then are the files renamed into place. A writer killed after the
commit leaves files to roll forward: whoever next owns the source (`PartitionLog.recover`)
renames them, so every committed message appears once in the lake; a writer killed before the
commit leaves files nobody references, deleted once older than settings.lake_orphan_age_s. The
commit record holds the offsets the chunk covers (`first_offset`, `next_offset`) and the digest
of its last message, which are where the next owner resumes and what the log check reads back.

What readers see: a step's files (one per day and channel) appear one rename after another, so a
reader globbing the folders may see part of a step for a moment, never a message twice; the
build's raw mirror (lake_import.py) takes only whole steps.

Limits: the commit needs an exclusive hard link, so the lake must be a POSIX file system (local
disk, NFS, a mounted HDFS); object stores need a different commit (a conditional put). Each
chunk writes a file per partition and day: run `journeys ingest` with chunks large enough for the
traffic (settings.ingest_chunk_messages). The files must not be rewritten in place (compaction
would need a commit that supersedes the files it replaces, not built): a committed file that
disappears stops its partition with LakeCorrupt rather than lose its messages silently. A new
owner lists the source's commit records to find the last one, which grows with the steps taken.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from journeys.warehouse import sql_string

TOUCHPOINTS_DIR = "touchpoints"
DEAD_LETTERS_DIR = "dead_letters"
COMMITS_DIR = "_commits"
INCOMING_DIR = "_incoming"
PARTITION_COLUMNS = ("event_date", "channel")
"""The Hive partition columns of touchpoints/: in the folder names, not in the files."""


class LakeFenced(RuntimeError):
    """Another writer committed this step of the source first: this process no longer owns it."""


class LakeCorrupt(RuntimeError):
    """A commit record lists files that are neither in place nor waiting to be: never expected."""


LOAD_PREFIX = "load+"
"""A bulk load's source name: load+<load_id>."""


def source_name(topic: str, partition: int) -> str:
    return f"{topic}+{partition}"


@dataclass(frozen=True)
class Commit:
    """One committed step of a source: its files and, for a Kafka partition, the offsets it covers."""

    seq: int
    first_offset: int | None
    next_offset: int | None
    """The offset after the last message covered: where the next owner resumes."""
    last_message_digest: str | None
    load_id: str
    n_loaded: int
    n_dead_lettered: int
    files: dict[str, str] = field(default_factory=dict)
    """Final path -> path under _incoming, both relative to the lake."""
    gap: dict | None = None
    """A log_check.Gap as a dict when this step skips offsets the broker no longer had."""
    committed_at: str = ""
    writer: str = ""
    """host:pid of the process that committed it."""

    @property
    def final_paths(self) -> list[str]:
        return sorted(self.files)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SourceLog:
    """The commit log of one source in the lake: `_commits/<source>/<seq>.json`, seq from 1."""

    def __init__(self, lake: Path, source: str):
        self.lake = Path(lake)
        self.source = source
        self.folder = self.lake / COMMITS_DIR / source
        self.incoming = self.lake / INCOMING_DIR / source

    def last(self) -> Commit | None:
        seqs = [int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit()] if self.folder.exists() else []
        if not seqs:
            return None
        return self.read(max(seqs))

    def read(self, seq: int) -> Commit:
        return Commit(**json.loads((self.folder / f"{seq:012d}.json").read_text()))

    def new_incoming_dir(self, seq: int) -> Path:
        """A folder of its own for a chunk's files before the commit: `<seq>-<token>`."""
        folder = self.incoming / f"{seq:012d}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(parents=True)
        return folder

    def commit(self, commit: Commit) -> None:
        """Make `commit` durable as the source's step `commit.seq`, then put its files in place.
        Raises LakeFenced (and keeps nothing of it) if another writer committed that step first."""
        for temp in commit.files.values():
            _fsync(self.lake / temp)
        if not self.folder.exists():
            self.folder.mkdir(parents=True)
            _fsync(self.folder.parent)
        record = {**asdict(commit), "committed_at": dt.datetime.now(dt.UTC).isoformat(),
                  "writer": f"{socket.gethostname()}:{os.getpid()}"}
        temp_record = self.folder / f".{commit.seq:012d}.{uuid.uuid4().hex[:12]}.tmp"
        temp_record.write_text(json.dumps(record, indent=1))
        _fsync(temp_record)
        try:
            os.link(temp_record, self.folder / f"{commit.seq:012d}.json")  # the commit point
        except FileExistsError:
            self._discard(commit)
            raise LakeFenced(f"{self.source}: step {commit.seq} was committed by another writer first; this "
                             "one's files for it are discarded") from None
        finally:
            temp_record.unlink(missing_ok=True)
        _fsync(self.folder)
        self._roll_forward(commit)

    def _discard(self, commit: Commit) -> None:
        for folder in {Path(temp).parts[:3] for temp in commit.files.values()}:
            shutil.rmtree(self.lake.joinpath(*folder), ignore_errors=True)

    def _roll_forward(self, commit: Commit) -> None:
        """Rename the commit's files into place (idempotent: a file already in place is done)."""
        folders, targets = set(), set()
        for final, temp in commit.files.items():
            target, waiting = self.lake / final, self.lake / temp
            if waiting.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileNotFoundError):  # another process renamed it just now
                    os.replace(waiting, target)
            if not target.exists():
                raise LakeCorrupt(f"{self.source}: commit {commit.seq} lists {final}, which is neither in place "
                                  f"nor waiting in {temp} (was a lake file moved or rewritten? The lake's files "
                                  "must not be changed in place)")
            folders.add(self.lake.joinpath(*Path(temp).parts[:3]))
            targets.add(target.parent)
        for folder in targets:  # the renames survive a power cut, not only a killed process
            _fsync(folder)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)

    def commits_after(self, seq: int) -> list[Commit]:
        """The commits after step `seq`, in order."""
        if not self.folder.exists():
            return []
        return [self.read(n) for n in sorted(int(p.stem) for p in self.folder.glob("*.json") if p.stem.isdigit())
                if n > seq]

    def in_place(self, commit: Commit) -> bool:
        """Whether every file of `commit` has been renamed into place (its writer may still be at it)."""
        return all((self.lake / final).exists() for final in commit.files)

    def recover(self, orphan_age_s: float) -> Commit | None:
        """Before a new owner reads on: roll the last commit forward (its writer may have died while
        renaming), delete uncommitted folders that cannot commit any more (their step is taken) or
        are older than orphan_age_s. Returns the last commit."""
        last = self.last()
        if last is not None:
            self._roll_forward(last)
        now = time.time()
        for record in self.folder.glob(".*.tmp") if self.folder.exists() else ():  # a writer killed mid-commit
            with contextlib.suppress(FileNotFoundError):
                if now - record.stat().st_mtime > orphan_age_s:
                    record.unlink()
        if self.incoming.exists():
            for folder in self.incoming.iterdir():
                seq_text = folder.name.split("-")[0]
                taken = last is not None and seq_text.isdigit() and int(seq_text) <= last.seq
                with contextlib.suppress(FileNotFoundError):
                    if taken or now - folder.stat().st_mtime > orphan_age_s:
                        shutil.rmtree(folder, ignore_errors=True)
        return last


def recover_loads(lake: Path, orphan_age_s: float) -> None:
    """Roll every bulk load's commit forward. A load has no owner to take it over: a `journeys load`
    killed after its commit left files in _incoming, which the next writer (a load, an ingester)
    puts in place; one killed before its commit left files that are removed once older than
    orphan_age_s. Harmless beside a load still renaming: a file already moved is done."""
    incoming = Path(lake) / INCOMING_DIR
    uncommitted = [p.name for p in incoming.glob(f"{LOAD_PREFIX}*")] if incoming.exists() else []
    for source in sorted(set(committed_sources(lake)) | set(uncommitted)):  # a load killed before its commit too
        if source.startswith(LOAD_PREFIX):
            SourceLog(lake, source).recover(orphan_age_s)


def committed_sources(lake: Path) -> list[str]:
    folder = Path(lake) / COMMITS_DIR
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.exists() else []


def touchpoints_sql(lake: Path) -> str:
    """The lake's touchpoints as a DuckDB SELECT: raw.touchpoints' columns, plus event_date."""
    return (f"select * from read_parquet({sql_string(Path(lake) / TOUCHPOINTS_DIR / '*/*/*.parquet')}, hive_partitioning = true, "
            "hive_types = {'event_date': date, 'channel': varchar}, union_by_name = true)")


def dead_letters_sql(lake: Path) -> str:
    return f"select * from read_parquet({sql_string(Path(lake) / DEAD_LETTERS_DIR / '*.parquet')})"


def commits_sql(lake: Path) -> str:
    """Every commit record (the lake's load log): one row per step of a source."""
    return f"select * from read_json({sql_string(Path(lake) / COMMITS_DIR / '*/*.json')}, format = 'auto')"
