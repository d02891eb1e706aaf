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
"""

from __future__ import annotations

import contextlib
import fcntl
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


def publish(settings: Settings) -> Path:
    """Copy the working file over the published one atomically; returns the published path."""
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
        os.replace(tmp, settings.published_path)
    return settings.published_path


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
    ).fetchone()
    return bool(row and row[0])
