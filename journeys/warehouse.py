"""The one DuckDB gateway: every connection to the warehouse is opened here.

DuckDB allows one writing process per file, and while it writes no other process may even
read the file. So the warehouse is two files:

* `warehouse.duckdb`, the working file. Only a holder of the exclusive lock file
  `warehouse.lock` opens it (ingest micro-batches, `journeys load`, build steps). Writers
  queue on the lock instead of failing on DuckDB's own lock.
* `published/warehouse.duckdb`, a read-only copy of the last good state. Publishing copies
  the working file to a temporary name and renames it over the published one; the rename is
  atomic, and readers who already had the old file open keep reading that inode. Analysts,
  BI tools and `journeys query` only ever open the published copy, so they never wait on a
  writer and never see a half-built state.
* `published/parquet/`, every marts table as `<table>.parquet` (plus `_manifest.json`), for
  tools that prefer files. `parquet` is a symlink to a folder under `published/parquet-builds/`
  written whole before the link is swapped (a rename, so atomic); the two previous folders are
  kept a while for readers still in the middle of them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb

from journeys.settings import Settings


class NothingPublishedError(RuntimeError):
    pass


def configure(con: duckdb.DuckDBPyConnection, settings: Settings) -> duckdb.DuckDBPyConnection:
    """Session settings every connection shares: timestamps are UTC, memory is capped."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{settings.duckdb_memory_limit}'")
    if settings.duckdb_threads:
        con.execute(f"SET threads = {int(settings.duckdb_threads)}")
    con.execute("SET preserve_insertion_order = false")
    return con


@contextlib.contextmanager
def exclusive_lock(settings: Settings, timeout_s: float | None = None) -> Iterator[None]:
    """Hold the warehouse's writer lock (an flock, released by the OS if the process dies)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with open(settings.lock_path, "a+") as handle:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"another process holds {settings.lock_path} (a build or an ingest)") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def writer(settings: Settings, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the working file, under the exclusive lock."""
    with exclusive_lock(settings, timeout_s):
        con = configure(duckdb.connect(str(settings.warehouse_path)), settings)
        try:
            yield con
        finally:
            con.close()


def publish(settings: Settings, parquet: bool = True) -> Path:
    """Copy the working file over the published one atomically, then swap in a fresh Parquet
    export of its marts; returns the published path."""
    settings.published_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(settings):
        if not settings.warehouse_path.exists():
            raise NothingPublishedError(f"no warehouse at {settings.warehouse_path} yet: run `journeys ingest` first")
        # Fold any write-ahead log into the main file so the copy is complete on its own.
        con = duckdb.connect(str(settings.warehouse_path))
        con.execute("CHECKPOINT")
        con.close()
        tmp = settings.published_dir / f".warehouse.{os.getpid()}.tmp"
        shutil.copyfile(settings.warehouse_path, tmp)
        try:
            # Exported from the copy about to be published, so files and file always agree.
            build = _export_parquet(settings, tmp) if parquet else None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, settings.published_path)
        if build is not None:
            _swap_symlink(parquet_link(settings), build)
            _prune_parquet_builds(settings, keep=build)
    return settings.published_path


PARQUET_KEEP_PREVIOUS = 2
"""Previous Parquet folders kept after a swap, for readers that resolved the link before it."""


def parquet_link(settings: Settings) -> Path:
    """`published/parquet`: a symlink to the current export folder."""
    return settings.published_dir / "parquet"


def _parquet_builds(settings: Settings) -> Path:
    return settings.published_dir / "parquet-builds"


def _export_parquet(settings: Settings, database: Path) -> Path:
    """Writes every marts table of `database` to a new folder; returns it (not yet linked)."""
    published_at = dt.datetime.now(dt.UTC)
    folder = _parquet_builds(settings) / f"{published_at:%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    folder.mkdir(parents=True)
    con = configure(duckdb.connect(str(database), read_only=True), settings)
    try:
        tables = con.execute(
            "select table_name, comment, estimated_size from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'marts' order by table_name"
        ).fetchall()
        manifest = {"published_at": published_at.isoformat(), "source": str(settings.published_path), "tables": {}}
        for table, comment, _ in tables:
            path = folder / f"{table}.parquet"
            con.execute(f"copy marts.\"{table}\" to '{_sql_path(path)}' (format parquet, compression zstd)")
            rows = con.execute(f"select count(*) from marts.\"{table}\"").fetchall()[0][0]
            manifest["tables"][table] = {"file": path.name, "rows": rows, "description": comment}
    finally:
        con.close()
    (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return folder


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` with one rename: readers see the old folder or the new one, never neither."""
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    if link.is_dir() and not link.is_symlink():  # never made by publish(); refuse to guess
        tmp.unlink()
        raise RuntimeError(f"{link} is a real folder; move it away so publishing can manage it as a symlink")
    os.replace(tmp, link)


def _prune_parquet_builds(settings: Settings, keep: Path) -> None:
    builds = sorted((p for p in _parquet_builds(settings).iterdir() if p.is_dir()), key=lambda p: p.name)
    older = [p for p in builds if p != keep]
    for stale in older[: max(0, len(older) - PARQUET_KEEP_PREVIOUS)]:
        shutil.rmtree(stale, ignore_errors=True)


def reader(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the published copy. Never waits on a writer."""
    if not settings.published_path.exists():
        raise NothingPublishedError(
            f"nothing published at {settings.published_path} yet: run `journeys ingest --once` or `journeys build`"
        )
    return configure(duckdb.connect(str(settings.published_path), read_only=True), settings)


def table_exists(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, _, table = qualified_name.rpartition(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema or "main", table],
    ).fetchall()
    return bool(row and row[0][0])
