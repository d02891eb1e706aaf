"""The raw lake mirrored into the warehouse's raw layer, commit by commit, exactly once (engine spark).

With the Spark engine the lake is raw's record. The DuckDB working file keeps a mirror of it, so
that everything reading raw on the serving side works unchanged: the raw quality gates, the raw
Parquet export, the serving file, `journeys query` and BI tools. Each build imports the commits
made since the previous one (pipelines/lake.py's commit records), so the cost grows with new data,
not with history. A commit's rows, dead letters, gap and load-log row and its (source, seq) in
raw.lake_imports are written in one transaction: an import killed midway imports nothing twice.
A commit whose files are not all in place yet (its writer is still renaming them, or was killed
and waits for the next owner's roll-forward) stops its source's import there until the next build;
the importer never moves a file itself.

The Kafka sources' positions are mirrored into raw.ingest_offsets as well, so switching a home
back to the DuckDB engine resumes ingestion after what the lake holds, not from offset 0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeys.pipelines.lake import Commit, SourceLog, committed_sources
from journeys.pipelines.raw_writer import create_raw_tables, record_gap, store_offset, utc_now

LAKE_IMPORTS_DDL = """
create table if not exists raw.lake_imports (
    source varchar not null,
    seq bigint not null,
    load_id varchar not null,
    imported_at timestamp not null,
    primary key (source, seq)
);
comment on table raw.lake_imports is
    'One row per raw lake commit mirrored into raw (engine spark): its source (topic+partition, or load+<load_id>) and step.';
"""


@dataclass
class LakeImport:
    n_commits: int = 0
    n_loaded: int = 0
    n_dead_lettered: int = 0
    n_waiting: int = 0
    """Sources whose next commit is not in place yet: imported by a later build."""

    def line(self) -> str:
        waiting = f"; {self.n_waiting} sources wait for a writer to finish renaming" if self.n_waiting else ""
        return (f"raw lake: {self.n_commits:,} new commits imported ({self.n_loaded:,} touchpoints, "
                f"{self.n_dead_lettered:,} dead letters){waiting}")


def import_lake(con: duckdb.DuckDBPyConnection, lake: Path) -> LakeImport:
    """Mirror every lake commit not imported yet into raw (the caller holds the writer lock)."""
    create_raw_tables(con)
    con.execute(LAKE_IMPORTS_DDL)
    done = dict(con.execute("select source, max(seq) from raw.lake_imports group by source").fetchall())
    result = LakeImport()
    for source in committed_sources(lake):
        source_log = SourceLog(lake, source)
        for commit in source_log.commits_after(done.get(source, 0)):
            if not source_log.in_place(commit):
                result.n_waiting += 1
                break
            _import(con, Path(lake), source, commit)
            result.n_commits += 1
            result.n_loaded += commit.n_loaded
            result.n_dead_lettered += commit.n_dead_lettered
    return result


def _files(lake: Path, commit: Commit, folder: str) -> list[str]:
    return [str(lake / final) for final in commit.final_paths if final.startswith(f"{folder}/")]


def _import(con: duckdb.DuckDBPyConnection, lake: Path, source: str, commit: Commit) -> None:
    committed_at = dt.datetime.fromisoformat(commit.committed_at).astimezone(dt.UTC).replace(tzinfo=None)
    con.execute("begin transaction")
    try:
        if touchpoints := _files(lake, commit, "touchpoints"):
            con.execute("insert into raw.touchpoints by name select * exclude (event_date) from read_parquet(?, "
                        "hive_partitioning = true, hive_types = {'event_date': date, 'channel': varchar})", [touchpoints])
        if dead := _files(lake, commit, "dead_letters"):
            con.execute("insert into raw.dead_letters by name select * from read_parquet(?)", [dead])
        if commit.gap:
            record_gap(con, commit.gap, commit.load_id)
        kind = "load" if source.startswith("load+") else "ingest"
        con.execute("insert into raw.load_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [commit.load_id, kind, f"lake:{source}", committed_at, committed_at,
                     commit.n_loaded + commit.n_dead_lettered, commit.n_loaded, commit.n_dead_lettered])
        if kind == "ingest":
            topic, partition = source.rsplit("+", 1)
            store_offset(con, topic, int(partition), commit.next_offset, commit.last_message_digest, committed_at)
        con.execute("insert into raw.lake_imports values (?, ?, ?, ?)", [source, commit.seq, commit.load_id, utc_now()])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
