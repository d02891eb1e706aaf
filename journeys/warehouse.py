"""The one DuckDB gateway: every connection to the warehouse is opened here.

DuckDB allows one writing process per file, and while it writes no other process may even
read the file. So the warehouse is two files:

* `warehouse.duckdb`, the working file. Only a holder of the exclusive lock file
  `warehouse.lock` opens it (ingest micro-batches, `journeys load`, build steps). Writers
  queue on the lock instead of failing on DuckDB's own lock.
* `published/warehouse.duckdb`, a read-only copy of the last good state (see journeys/publishing.py).
  Analysts, BI tools and `journeys query` only ever open the published copy, through `reader`,
  so they never wait on a writer and never see a half-built state.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterator
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
    with flock(settings.lock_path, timeout_s, lambda: f"another process holds {settings.lock_path} (a build or an ingest)"):
        yield


@contextlib.contextmanager
def build_lock(settings: Settings, timeout_s: float) -> Iterator[None]:
    """Held by a whole build, so two builds never interleave their steps; a second build waits up to
    `timeout_s`, then refuses. Ingest and load do not take it: they write raw only."""
    path = settings.home / "build.lock"
    with flock(path, timeout_s, lambda: f"another build holds {path} and did not finish within "
                                        f"{timeout_s:.0f} s (build_lock_timeout_s)"):
        yield


@contextlib.contextmanager
def flock(path: Path, timeout_s: float | None = None, busy: Callable[[], str] = lambda: "the lock is held") -> Iterator[None]:
    """An exclusive flock on `path` (its folder made if missing), released by the OS if the process
    dies: wait for ever (timeout None) or up to `timeout_s`, then TimeoutError(busy())."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (fcntl.LOCK_NB if deadline is not None else 0))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise TimeoutError(busy()) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def writer(settings: Settings, timeout_s: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the working file, under the exclusive lock."""
    with exclusive_lock(settings, timeout_s):
        con = configure(_connect_waiting(settings.warehouse_path), settings)
        try:
            yield con
        finally:
            con.close()


FOREIGN_LOCK_WAIT_S = 60.0
"""How long a writer waits for a process outside our lock (someone opened the working file directly,
e.g. `duckdb -readonly warehouse.duckdb`) to let go of DuckDB's own file lock."""


def _connect_waiting(path: Path) -> duckdb.DuckDBPyConnection:
    """Connect read-write, waiting out a DuckDB file lock held by a process that ignores ours."""
    deadline = time.monotonic() + FOREIGN_LOCK_WAIT_S
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


SANDBOX_CONFIG = {"enable_external_access": False, "autoload_known_extensions": False,
                  "autoinstall_known_extensions": False, "temp_directory": ""}
"""What makes a reader's connection read-only by the engine, not by inspecting statements: no file
outside the database can be read or written (COPY, EXPORT/IMPORT DATABASE, ATTACH, read_csv,
log_query_path, profiling output), and no extension can be installed or loaded. No temp directory
either: DuckDB lets every statement write where it spills, so a reader does not spill, and a query
that needs more than duckdb_memory_limit fails with out-of-memory instead."""


def reader(settings: Settings) -> duckdb.DuckDBPyConnection:
    """A read-only, sandboxed connection to the published copy. Never waits on a writer.

    The session settings are set first and then locked (`lock_configuration`), so no statement can
    turn the sandbox off again.
    """
    if not settings.published_path.exists():
        raise NothingPublishedError(
            f"nothing published at {settings.published_path} yet: run `journeys build` (what ingest and load "
            f"committed so far is published as Parquet under {settings.published_dir / 'raw'})"
        )
    con = duckdb.connect(str(settings.published_path), read_only=True, config=dict(SANDBOX_CONFIG))
    try:
        configure(con, settings)
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def sql_string(text: Path | str) -> str:
    """`text` (a path, a comment) as a SQL string literal, for the statements that take no parameters."""
    return "'" + str(text).replace("'", "''") + "'"


def table_exists(con: duckdb.DuckDBPyConnection, qualified_name: str) -> bool:
    schema, _, table = qualified_name.rpartition(".")
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema or "main", table],
    ).fetchall()
    return bool(row and row[0][0])
