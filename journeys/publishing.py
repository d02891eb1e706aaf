"""Publishing: what analysts and BI tools read, and the rule that only checked builds reach it.

`published/warehouse.duckdb` is a symlink to a read-only serving file, brought up to the working
file while no reader reads it and then swapped in with one rename (journeys/serving_file.py), so a
reader sees one state or the next, never a half-written one. Two writers put things there:

* **A build** (`publish_build`) publishes every layer, but only when every table it was asked to
  publish was built by that same run (recorded in `meta.build_steps` by each build step), so a
  failed, partial or interleaved build is refused instead of published. Dagster runs the publish
  step only after every upstream asset and its blocking checks succeeded.
* **Ingest and load** (`publish_raw`) publish the raw layer only, as Parquet parts under
  `published/raw/` that each hold the rows appended since the previous part
  (journeys/raw_export.py): they cost the rows added, never a copy of the warehouse. The
  published DuckDB file, raw layer included, stays the last good build's, whatever the working
  file holds (it may hold the tables of a build that just failed its checks, or of one running).

`published/parquet` is a symlink to a folder under `published/parquet-builds/` holding every marts
table of the last published build (one folder per table), complete before the link is swapped. The
files whose rows did not change since the previous export are hard links to its files
(journeys/parquet_export.py), so an export costs what changed.

Failure rules: a publish that fails (a full disk, a kill) leaves the previous published state
untouched (a standby brought up half-way is rolled back, and is not linked) and removes its
temporary copy; temporary files left by killed processes are swept by the next publish.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeys import parquet_export, raw_export, serving_file, warehouse
from journeys.settings import Settings
from journeys.transforms import incremental

PARQUET_KEEP_PREVIOUS = 2
"""Previous Parquet folders kept after a swap, for readers that resolved the link before it."""


class PublishError(RuntimeError):
    """Publishing was refused or failed; the previously published state is unchanged."""


@dataclass(frozen=True)
class Published:
    path: Path
    kind: str
    """'build' (every layer) or 'raw' (the raw layer only)."""
    run_id: str | None
    as_of: dt.datetime | None
    published_at: dt.datetime
    new_raw_rows: int = 0
    """Touchpoints appended to the raw Parquet parts by this publish."""
    how: str = ""
    """How the serving file was brought up (journeys/serving_file.py), for a build."""

    def line(self) -> str:
        if self.kind == "raw":
            return (f"published raw layer: {self.new_raw_rows:,} new touchpoints appended to {self.path} "
                    "(the published warehouse file, derived layers included, stays the last good build's)")
        return (f"published build {self.run_id} (as_of {self.as_of:%Y-%m-%d %H:%M:%S}) to {self.path}; "
                f"serving file {self.how}")


# ---- build steps -----------------------------------------------------------------------------
BUILD_STEPS_DDL = """
create schema if not exists meta;
create table if not exists meta.build_steps (
    table_name varchar primary key,
    run_id varchar not null,
    as_of timestamp,
    built_at timestamp not null
);
comment on table meta.build_steps is 'One row per derived table: the build run that last wrote it, and its as_of. \
Publishing refuses a set of tables built by different runs.';
"""


def record_build_step(con: duckdb.DuckDBPyConnection, tables: list[str], run_id: str, as_of: dt.datetime | None) -> None:
    """Mark `tables` as written by build run `run_id` (called by every build step, in its transaction)."""
    con.execute(BUILD_STEPS_DDL)
    for table in tables:
        con.execute("insert or replace into meta.build_steps values (?, ?, ?, ?)", [table, run_id, as_of, _utc_now()])


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# ---- the two ways in -------------------------------------------------------------------------
def publish_build(settings: Settings, run_id: str, tables: list[str]) -> Published:
    """Publish the working file (journeys/serving_file.py), if every one of `tables` was built by run `run_id`."""
    with warehouse.exclusive_lock(settings):
        if not settings.warehouse_path.exists():
            raise PublishError(f"no warehouse at {settings.warehouse_path}: nothing to publish")
        con = duckdb.connect(str(settings.warehouse_path))
        try:
            con.execute(BUILD_STEPS_DDL)
            built = dict(con.execute("select table_name, run_id from meta.build_steps").fetchall())
            as_of = con.execute("select max(as_of) from meta.build_steps where run_id = ?", [run_id]).fetchone()[0]
            incremental.ensure_state(con)
            changes_absorbed = con.execute("select nextval('meta.change_seq')").fetchone()[0]  # above every entry so far
            con.execute("CHECKPOINT")  # fold the write-ahead log in, so the file is complete on its own
        finally:
            con.close()
        stale = sorted(t for t in tables if built.get(t) != run_id)
        if stale:
            raise PublishError(
                f"refusing to publish: {len(stale)} of {len(tables)} tables were not built by run {run_id} "
                f"(e.g. {stale[0]}: {built.get(stale[0]) or 'never built'}); a partial, failed or concurrent build "
                "is never published. Run `journeys build`.")
        _check_link(parquet_link(settings))  # before anything is replaced: fail with both halves unchanged
        sweep_stale(settings)
        slot, token, published_at = serving_file.standby_slot(settings), uuid.uuid4().hex, _utc_now()
        try:
            refreshed = serving_file.refresh(settings, slot, changes_absorbed, token,
                                             lambda target: _write_published_meta(target, run_id, as_of, published_at))
            # recorded once the standby holds it (a publish that stops before leaves the old token: the next
            # copies whole), and the log is kept above it
            working = duckdb.connect(str(settings.warehouse_path))  # under the lock held above
            try:
                incremental.register_reader(working, serving_file.reader_name(slot), changes_absorbed,
                                             refreshed.recorded_token)
            finally:
                working.close()
            published = Published(settings.published_path, "build", run_id, as_of, published_at, how=refreshed.detail)
            folder = _export_parquet(settings, refreshed.path, published)
            serving_file.swap_link(settings, slot)
        except BaseException as exc:
            raise _publish_failed(exc) from exc
        _swap_symlink(parquet_link(settings), folder)
        _prune_parquet_builds(settings, keep=folder)
        try:  # the raw parts at least as fresh as the file: what the build read is in them
            raw_export.export_raw(settings)
        except BaseException as exc:
            raise _publish_failed(exc) from exc
    return published


def publish_raw(settings: Settings) -> Published | None:
    """Append the raw rows committed since the last publish to `published/raw` as Parquet parts
    (journeys/raw_export.py); the published DuckDB file is not touched. Returns None when there is
    no raw layer yet."""
    with warehouse.exclusive_lock(settings):
        if not settings.warehouse_path.exists():
            return None
        sweep_stale(settings)
        try:
            exported = raw_export.export_raw(settings)
        except BaseException as exc:
            raise _publish_failed(exc) from exc
    if exported is None:
        return None
    return Published(raw_export.raw_dir(settings), "raw", None, None, _utc_now(), exported.rows_written.get("touchpoints", 0))


# ---- the mechanics ---------------------------------------------------------------------------
def _publish_failed(exc: BaseException) -> BaseException:
    if isinstance(exc, PublishError) or not isinstance(exc, (OSError, duckdb.Error)):
        return exc
    return PublishError(f"publishing failed ({type(exc).__name__}: {exc}); its partial copy was removed and the "
                        "published warehouse is unchanged")


def _write_published_meta(con: duckdb.DuckDBPyConnection, run_id: str, as_of: dt.datetime | None,
                          published_at: dt.datetime) -> None:
    """The published build's row, in the serving file `con` writes (inside its transaction)."""
    con.execute("create schema if not exists meta")
    con.execute("create or replace table meta.published_build as select ?::varchar as run_id, "
                "?::timestamp as as_of, ?::timestamp as published_at", [run_id, as_of, published_at])
    con.execute("comment on table meta.published_build is 'One row: the build this file holds (run, as_of, "
                "when it was published). Ingest and load refresh raw only and leave it unchanged.'")


_PID_IN_NAME = re.compile(r"\.(\d+)\.tmp(?:\.wal)?$|-(\d+)$")


def sweep_stale(settings: Settings) -> list[Path]:
    """Remove temporary copies and unfinished Parquet folders left by processes that died; returns them."""
    removed = []
    candidates = [*settings.published_dir.glob(".*.tmp"), *settings.published_dir.glob(".*.tmp.wal"),
                  *serving_file.serving_dir(settings).glob("*/.*.tmp"), *serving_file.serving_dir(settings).glob("*/.*.tmp.wal"),
                  *raw_export.raw_dir(settings).glob("*/.*.tmp")]
    builds = _parquet_builds(settings)
    if builds.exists():
        candidates += [p for p in builds.iterdir() if p.is_dir() and not (p / "_manifest.json").exists()]
    for path in candidates:
        match = _PID_IN_NAME.search(path.name)
        pid = int(next(g for g in match.groups() if g)) if match else None
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parquet_link(settings: Settings) -> Path:
    """`published/parquet`: a symlink to the current export folder."""
    return settings.published_dir / "parquet"


def _parquet_builds(settings: Settings) -> Path:
    return settings.published_dir / "parquet-builds"


def _export_parquet(settings: Settings, database: Path, published: Published) -> Path:
    """Writes every marts table of `database` to a new folder; returns it (not yet linked). The
    partitions unchanged since the linked export are hard-linked from it (journeys/parquet_export.py).
    The manifest is written last: a folder without one is unfinished (and swept if its writer died)."""
    folder = _parquet_builds(settings) / f"{published.published_at:%Y%m%dT%H%M%S%fZ}-{os.getpid()}"
    folder.mkdir(parents=True)
    link = parquet_link(settings)
    previous = link.resolve() if link.is_symlink() and link.exists() else None
    try:
        con = warehouse.configure(duckdb.connect(str(database), read_only=True), settings)
        try:
            tables = parquet_export.export_marts(con, folder, previous)
        finally:
            con.close()
        manifest = {"published_at": published.published_at.isoformat() + "Z", "run_id": published.run_id,
                    "as_of": published.as_of.isoformat() if published.as_of else None,
                    "source": str(settings.published_path), "tables": tables}
        (folder / "_manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _swap_symlink(link: Path, target: Path) -> None:
    """Point `link` at `target` with one rename: readers see the old folder or the new one, never neither."""
    _check_link(link)
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, link.parent), tmp)
    os.replace(tmp, link)


def _check_link(link: Path) -> None:
    if link.exists() and not link.is_symlink():  # never made by publishing; refuse to guess
        raise PublishError(f"{link} is not the symlink publishing manages; move it away and build again")


def _prune_parquet_builds(settings: Settings, keep: Path) -> None:
    builds = sorted((p for p in _parquet_builds(settings).iterdir() if p.is_dir()), key=lambda p: p.name)
    older = [p for p in builds if p != keep and (p / "_manifest.json").exists()]
    for stale in older[: max(0, len(older) - PARQUET_KEEP_PREVIOUS)]:
        shutil.rmtree(stale, ignore_errors=True)
