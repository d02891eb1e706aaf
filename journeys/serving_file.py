"""The published DuckDB file, brought up to the working file at a cost that grows with what changed.

    published/warehouse.duckdb -> serving/a/warehouse.duckdb   what readers open (a symlink)
    published/serving/b/warehouse.duckdb                       the standby: the build before last

Both files are named warehouse.duckdb, in a folder per slot, because DuckDB names a file's catalog
after its file name: a BI tool that lists `warehouse.marts` finds it under that name after every
publish, whichever file the link points at.

Why: every build's publish used to copy the whole working file, raw and all of history, for what an
incremental build changed (28 GB and 7 minutes at 100M events). Now a publish brings the standby up
to the working file and swaps the link to it with one rename, as the copy was swapped in before, so a
reader still sees one whole build or the next. Readers left the standby when the link was swapped
at the publish before; one still reading it holds DuckDB's file lock, and then it is not touched.

The standby is brought up in one transaction, with the working file attached read-only:

* append-only raw tables (raw_export.APPEND_ONLY): the rows appended since;
* incremental models: the rows of the keys they replaced since, as the change log says
  (incremental.replaced_rows_condition); the whole table when the model was built in full since;
* every other table: whole (the aggregates, the identity map, meta: every build rewrites them).

The working file records the state each serving file holds (meta.change_log_readers: the change
log position and a token), and keeps the log above it. When the standby cannot be brought up (there
is none yet, on a home's second publish, or its state cannot be trusted) but the published file can,
the standby is replaced by a file copy of the published file, brought up in place from that one's
state: a plain file copy keeps the older storage format, where rewriting the working file into it
costs many times more. The standby is copied whole from the working file, as every publish did
before, when neither file can be brought up, for one of these reasons: there is no standby yet, a
reader still has it open, its token is not the one the working file recorded for it (a working file
restored from a copy, a `journeys build --full`, a publish that died in between), the catalogs
differ (a table, column, type or comment changed), a raw table went back, or the standby grew to
twice the working file (deleted rows' space that DuckDB did not reuse), or so many persons changed
that a copy is cheaper (copy_above_changed_share), or it is in another storage format than
serving_storage_version. After the update every table's row count is compared with the working
file's, and any difference rolls it back to a copy.

The format: DuckDB 2 writes files only DuckDB 2 opens, and the BI tools embed older DuckDBs
(Evidence's connector 1.4, Metabase's driver its own). So a whole copy is, unless the setting is
`latest`, not a file copy but COPY FROM DATABASE into a file attached with STORAGE_VERSION
serving_storage_version (every table, view, macro and comment); an update in place keeps the
file's format.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeys import raw_export, warehouse
from journeys.settings import Settings
from journeys.transforms import incremental
from journeys.warehouse import sql_string

SLOTS = ("a", "b")
SERVING_ONLY = ("meta.published_build", "meta.serving_state")
"""Tables a serving file holds and the working file does not: which build it is, which state."""

COPY_ABOVE_CHANGED_SHARE = 0.05
"""Above this share of persons changed since the standby's state, a copy is cheaper than replacing
their rows. Measured at 10M events (2.5 GB working file): 13.5% of persons changed after 1% new
events, and bringing the standby up took 15.0 s (6.6M rows replaced, about 440k rows/s) where a
copy took 4.4 s from the page cache, so the two cost the same near 4%; a file too big to stay
cached (28 GB at 100M) copies slower and moves that point up."""

FORMAT_COPY_ABOVE_CHANGED_SHARE = 0.5
"""The same point when a whole copy is a rewrite into serving_storage_version's older format (COPY
FROM DATABASE), not a file copy: measured at 1M events (0.22 GB), 8.2 s against 0.08 s for the
file copy (benchmarks/bench_serving_format.py), about 27 MB/s, so ~90 s at 10M where replacing 13.5%
of persons took 15 s: in place stays cheaper until most persons changed."""

GROWTH_LIMIT = 2.0
"""A standby this many times the working file's size (plus 64 MB) is copied whole again: a fresh
copy holds no space of deleted rows."""

class _NotInPlace(Exception):
    """The standby cannot be brought up in place; the message says why."""


@dataclass(frozen=True)
class Refreshed:
    path: Path
    in_place: bool
    detail: str
    """How, e.g. 'brought up in place in 2.1 s: 12 tables by key, 31 whole, 1,000 raw rows appended'."""
    recorded_token: str
    """What the working file records for it (incremental.register_reader): the token the file holds
    and the file's size and modification time, so a file written since by anyone else is noticed."""


def serving_dir(settings: Settings) -> Path:
    return settings.published_dir / "serving"


def slot_path(settings: Settings, slot: str) -> Path:
    return serving_dir(settings) / slot / "warehouse.duckdb"


OLD_LAYOUT = "warehouse-*.duckdb"
"""Serving files of the layout before the slot folders (serving/warehouse-a.duckdb): removed once the
link points at the new layout (an open reader keeps its file until it closes)."""


def reader_name(slot: str) -> str:
    """The serving file's name among meta.change_log_readers."""
    return f"serving:{slot}"


def standby_slot(settings: Settings) -> str:
    """The slot the published link does not point at (the first one when there is no link yet)."""
    link = settings.published_path
    if link.is_symlink():
        current = os.path.normpath(os.path.join(link.parent, os.readlink(link)))
        for slot, other in zip(SLOTS, reversed(SLOTS), strict=True):
            if current == os.path.normpath(slot_path(settings, slot)):
                return other
    return SLOTS[0]


def refresh(settings: Settings, slot: str, changes_absorbed: int, token: str,
            write_meta: Callable[[duckdb.DuckDBPyConnection], None]) -> Refreshed:
    """Bring serving file `slot` to the working file's state, with `write_meta` run on it (the
    published build's row) and its state recorded as (`token`, `changes_absorbed`). The working file
    must be checkpointed and unwritten meanwhile (hold warehouse.exclusive_lock).

    In order: the standby brought up in place; else a file copy of the published file (the other
    slot) brought up in place, when that one holds a state the working file recorded (the second
    publish of a home, or a standby a reader still holds); else a whole copy of the working file."""
    path = slot_path(settings, slot)
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        detail = _update_in_place(settings, path, slot, changes_absorbed, token, write_meta)
        return Refreshed(path, True, f"brought up in place in {time.monotonic() - started:.1f} s: {detail}",
                         _recorded(token, path))
    except _NotInPlace as why:
        reason = str(why)
    published_slot = next(other for other in SLOTS if other != slot)
    if slot_path(settings, published_slot).exists():  # not on a home's first publish
        try:
            detail = _seed_from_published(settings, path, published_slot, changes_absorbed, token, write_meta)
            return Refreshed(path, True, f"a copy of the published file brought up in place in "
                                         f"{time.monotonic() - started:.1f} s ({reason}): {detail}", _recorded(token, path))
        except _NotInPlace as why:
            reason = f"{reason}; the published file cannot seed it: {why}"
    _copy_whole(settings, path, changes_absorbed, token, write_meta)
    return Refreshed(path, False, f"copied whole in {time.monotonic() - started:.1f} s: {reason}", _recorded(token, path))


def _recorded(token: str, path: Path) -> str:
    stat = path.stat()
    return f"{token} {stat.st_size}:{stat.st_mtime_ns}"


def swap_link(settings: Settings, slot: str) -> None:
    """Point published/warehouse.duckdb at `slot` with one rename (it may be a plain file of an
    older layout, replaced the same way)."""
    link = settings.published_path
    if link.is_dir() and not link.is_symlink():
        raise OSError(f"{link} is a directory; publishing manages it as a symlink to a serving file")
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(os.path.relpath(slot_path(settings, slot), link.parent), tmp)
    os.replace(tmp, link)
    for old in serving_dir(settings).glob(OLD_LAYOUT):
        _remove(old)


# ---- in place --------------------------------------------------------------------------------
def _update_in_place(settings: Settings, path: Path, slot: str, changes_absorbed: int, token: str,
                     write_meta: Callable[[duckdb.DuckDBPyConnection], None], untouched: str | None = None) -> str:
    """`path` brought up from the state the working file recorded for `slot` (`untouched`: the size
    and time that state was recorded with, when `path` is a copy of that slot's file)."""
    if not path.exists():
        raise _NotInPlace("no standby file yet")
    _check_growth(settings, path)
    untouched = untouched or _recorded("", path)  # before this connection opens it
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise _NotInPlace(f"a reader still has the standby open ({str(exc).splitlines()[0][:160]})") from exc
    try:
        warehouse.configure(con, settings)
        con.execute("SET preserve_insertion_order = true")  # raw rows keep their row order (see _check_raw)
        con.execute(f"attach {sql_string(settings.warehouse_path)} as working (read_only)")
        here = _default_database(con)
        since = _trusted_state(con, here, slot, untouched, settings)
        tables = _tables(con, "working")
        con.execute("begin transaction")
        try:
            counts = _apply(con, here, tables, since)
            _copy_comments(con, here)
            write_meta(con)
            _write_state(con, token, changes_absorbed, settings.serving_storage_version)
            _check_counts(con, here, tables)
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        con.execute("CHECKPOINT")
    finally:
        con.close()
    slowest = sorted(counts["seconds"].items(), key=lambda item: -item[1])[:3]
    return (f"{counts['by key']} tables by key ({counts['rows replaced']:,} rows replaced), {counts['whole']} whole, "
            f"{counts['raw rows']:,} raw rows appended; slowest: "
            + ", ".join(f"{table} {seconds:.1f} s" for table, seconds in slowest))


def _check_growth(settings: Settings, path: Path) -> None:
    limit = GROWTH_LIMIT * settings.warehouse_path.stat().st_size + 64 * 2**20
    if path.stat().st_size > limit:
        raise _NotInPlace(f"the standby grew to {path.stat().st_size / 2**30:.1f} GB, over {GROWTH_LIMIT:g}x the "
                          "working file: a copy compacts it")


def _trusted_state(con: duckdb.DuckDBPyConnection, here: str, slot: str, untouched: str, settings: Settings) -> int:
    """The change-log position serving file `here` (attached, the working file as `working`) holds, if
    it can be brought up from it in place; else _NotInPlace says why."""
    since = _standby_state(con, here, slot, untouched)
    _check_storage_version(con, here, settings.serving_storage_version)
    _check_catalogs(con, here)
    _check_changed_share(con, since, copy_above_changed_share(settings))
    _check_raw(con, here, _tables(con, "working"))
    return since


def _seed_from_published(settings: Settings, path: Path, published_slot: str, changes_absorbed: int, token: str,
                         write_meta: Callable[[duckdb.DuckDBPyConnection], None]) -> str:
    """The standby replaced by a file copy of the published file, brought up in place from the state
    the working file recorded for that one. A plain file copy keeps its storage format, so with an
    older serving_storage_version this is far cheaper than rewriting the working file (a second
    build at 10M events: 84 s for COPY FROM DATABASE). The published file is only read (readers
    may hold it open: they only read it too); it is checked, read-only, before anything is copied."""
    published = slot_path(settings, published_slot)
    if published.with_name(published.name + ".wal").exists():
        raise _NotInPlace("it has a write-ahead log (a read-write connection to it?)")
    _check_growth(settings, published)
    untouched = _recorded("", published)
    con = duckdb.connect()
    try:
        warehouse.configure(con, settings)
        con.execute(f"attach {sql_string(settings.warehouse_path)} as working (read_only)")
        con.execute(f"attach {sql_string(published)} as published (read_only)")
        _trusted_state(con, "published", published_slot, untouched, settings)
    except _NotInPlace as why:
        raise _NotInPlace(str(why).replace("the standby", "it")) from None
    except duckdb.Error as exc:
        raise _NotInPlace(f"it cannot be read ({str(exc).splitlines()[0][:160]})") from exc
    finally:
        con.close()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        shutil.copy2(published, tmp)  # copy2: with its modification time, which the recorded state includes
        detail = _update_in_place(settings, tmp, published_slot, changes_absorbed, token, write_meta, untouched)
        path.with_name(path.name + ".wal").unlink(missing_ok=True)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return detail


def _standby_state(con: duckdb.DuckDBPyConnection, here: str, slot: str, untouched: str) -> int:
    """The change-log position the standby holds, if the working file recorded the same state for it
    and the file's size and time are still those recorded (`untouched`: taken before it was opened)."""
    held = _rows(con, f'select token, changes_absorbed from "{here}".meta.serving_state') if _has_table(
        con, here, "meta", "serving_state") else []
    recorded = _rows(con, "select token, changes_absorbed from working.meta.change_log_readers where reader = ?",
                     [reader_name(slot)]) if _has_table(con, "working", "meta", "change_log_readers") else []
    if not held:
        raise _NotInPlace("the standby records no state (written before serving files were brought up in place)")
    token, changes_absorbed = held[0]
    if not recorded or recorded[0][1] != changes_absorbed or recorded[0][0].split(" ")[0] != token:
        raise _NotInPlace("the working file does not hold the state the standby was brought to (restored from a "
                          "copy, `journeys build --full`, or a publish that stopped half-way)")
    if recorded[0][0] != token + untouched:
        raise _NotInPlace("the standby was written to since it was published (a read-write connection to it?)")
    return changes_absorbed


def _check_storage_version(con: duckdb.DuckDBPyConnection, here: str, wanted: str) -> None:
    """An update in place keeps the file's format: one written in another (serving_storage_version
    changed since) is copied whole, into the format asked for."""
    columns = {c for (c,) in _rows(con, "select column_name from duckdb_columns() where database_name = ? and "
                                        "schema_name = 'meta' and table_name = 'serving_state'", [here])}
    held = _rows(con, f'select storage_version from "{here}".meta.serving_state')[0][0] \
        if "storage_version" in columns else None
    if held != wanted:
        raise _NotInPlace(f"the standby is in storage format {held or 'unrecorded'}, serving_storage_version is {wanted}")


def _check_catalogs(con: duckdb.DuckDBPyConnection, here: str) -> None:
    held, working = _catalog(con, here), _catalog(con, "working")
    if held != working:
        first = min(held ^ working, key=lambda row: (("table", "view", "column").index(row[0]), row[1], row[2]))
        now = next((row[3] for row in working if row[:3] == first[:3]), None)
        was = next((row[3] for row in held if row[:3] == first[:3]), None)
        raise _NotInPlace(f"the tables changed since (e.g. {first[0]} {first[1]}.{first[2]}, "
                          f"was: {_short(was) or 'none'}, now: {_short(now) or 'none'})")


def _short(definition: str | None) -> str | None:
    return definition if definition is None or len(definition) <= 80 else definition[:77] + "..."


def _catalog(con: duckdb.DuckDBPyConnection, database: str) -> set[tuple]:
    """Every table, view and column with its definition, serving-only tables left out. Not the
    comments: some say what the last build found (marts.clv_model_params), and _copy_comments
    brings them up on their own."""
    rows = _rows(con, """
        select 'table', schema_name, table_name, sql from duckdb_tables() where database_name = $db
        union all
        select 'view', schema_name, view_name, sql from duckdb_views() where database_name = $db and not internal
        union all
        select 'column', schema_name, table_name || '.' || column_name, data_type || ' ' || column_index
        from duckdb_columns() where database_name = $db""", {"db": database})
    return {row for row in rows if f"{row[1]}.{row[2].split('.')[0]}" not in SERVING_ONLY}


def _copy_comments(con: duckdb.DuckDBPyConnection, here: str) -> None:
    """Table and column comments of the working file that the standby does not hold yet."""
    for kind, name, comment in _rows(con, f"""
            select 'table', schema_name || '.' || table_name, comment from duckdb_tables() where database_name = 'working'
            except
            select 'table', schema_name || '.' || table_name, comment from duckdb_tables() where database_name = '{here}'
            union all (
            select 'column', schema_name || '.' || table_name || '."' || column_name || '"', comment
            from duckdb_columns() where database_name = 'working'
            except
            select 'column', schema_name || '.' || table_name || '."' || column_name || '"', comment
            from duckdb_columns() where database_name = '{here}')"""):
        con.execute(f"comment on {kind} \"{here}\".{name} is {sql_string(comment) if comment is not None else 'null'}")


def copy_above_changed_share(settings: Settings) -> float:
    """Above this share of persons changed a whole copy is cheaper: a plain file copy is fast, a copy
    into an older storage format is not."""
    return COPY_ABOVE_CHANGED_SHARE if settings.serving_storage_version == "latest" else FORMAT_COPY_ABOVE_CHANGED_SHARE


def _check_changed_share(con: duckdb.DuckDBPyConnection, since: int, limit: float) -> None:
    """Copy instead when more persons changed than `limit` (their rows are most of the delta)."""
    if not _has_table(con, "working", "intermediate", "int_persons"):
        return
    _, producer, kind = incremental.REPLACED_KEYS["marts.journey_steps"]
    changed = _rows(con, "select count(distinct key) from working.meta.change_log where producer = ? and key_type = ? "
                         "and change_seq > ?", [producer, kind, since])[0][0]
    persons = _row_count(con, "working.intermediate.int_persons")
    if persons and changed / persons > limit:
        raise _NotInPlace(f"{changed:,} persons changed since the standby's state (merged and split ones on both "
                          f"sides), {changed / persons:.1%} of the {persons:,} there are; above "
                          f"{limit:.0%} a copy is cheaper")


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> list[str]:
    return [f"{schema}.{table}" for schema, table in _rows(
        con, "select schema_name, table_name from duckdb_tables() where database_name = ? order by all", [database])
        if f"{schema}.{table}" not in SERVING_ONLY]


def _check_raw(con: duckdb.DuckDBPyConnection, here: str, tables: list[str]) -> None:
    """Each append-only raw table of the working file still begins with the standby's rows: at least as
    many, and its row at the standby's last position written by the same load (every raw row carries
    its load_id). A working file restored from an older copy fails this, even once it has grown again."""
    for table in _append_only(tables):
        held = _row_count(con, f'"{here}".{table}')
        if held == 0:
            continue
        same = _rows(con, f'select (select load_id from "{here}".{table} where rowid = {held - 1}) = '
                          f"(select load_id from working.{table} where rowid = {held - 1})")[0][0]
        if _row_count(con, f"working.{table}") < held or not same:
            raise _NotInPlace(f"{table} of the working file no longer begins with the standby's rows")


def _apply(con: duckdb.DuckDBPyConnection, here: str, tables: list[str], since: int) -> dict[str, int]:
    """Replace what changed in each table of the standby (in the caller's transaction)."""
    counts = {"by key": 0, "rows replaced": 0, "whole": 0, "raw rows": 0, "seconds": {}}
    full_since = dict(_rows(con, "select model, full_build_seq > ? from working.meta.incremental_state", [since])) \
        if _has_table(con, "working", "meta", "incremental_state") else {}
    for table in tables:
        target = f'"{here}".{table}'
        started = time.monotonic()
        if table in _append_only(tables):
            held = _row_count(con, target)
            counts["raw rows"] += _changed(con, f"insert into {target} select * from working.{table} "
                                                f"where rowid >= {held}")
        elif table in incremental.REPLACED_KEYS and full_since.get(table) is False:
            replaced = incremental.replaced_rows_condition(table, since, log="working.meta.change_log")
            con.execute(f"delete from {target} where {replaced}")
            counts["rows replaced"] += _changed(con, f"insert into {target} select * from working.{table} "
                                                     f"where {replaced}")
            counts["by key"] += 1
        else:
            con.execute(f"delete from {target}")
            con.execute(f"insert into {target} select * from working.{table}")
            counts["whole"] += 1
        counts["seconds"][table] = time.monotonic() - started
    return counts


def _check_counts(con: duckdb.DuckDBPyConnection, here: str, tables: list[str]) -> None:
    for table in tables:
        held, working = _row_count(con, f'"{here}".{table}'), _row_count(con, f"working.{table}")
        if held != working:
            raise _NotInPlace(f"{table} came out with {held:,} rows where the working file has {working:,} "
                              "(the change log missed a change: please report it)")


def _append_only(tables: list[str]) -> list[str]:
    return [t for t in tables if t.startswith("raw.") and t.split(".")[1] in raw_export.APPEND_ONLY]


# ---- whole -----------------------------------------------------------------------------------
def _copy_whole(settings: Settings, path: Path, changes_absorbed: int, token: str,
                write_meta: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove(tmp)
    try:
        if settings.serving_storage_version == "latest":
            shutil.copyfile(settings.warehouse_path, tmp)
        else:
            _copy_in_format(settings, tmp)
        con = duckdb.connect(str(tmp))
        try:
            write_meta(con)
            _write_state(con, token, changes_absorbed, settings.serving_storage_version)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        path.with_name(path.name + ".wal").unlink(missing_ok=True)  # of an update killed half-way: not this file's
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise


def _copy_in_format(settings: Settings, tmp: Path) -> None:
    """The working file rewritten into `tmp` in serving_storage_version's format: every schema,
    table, view, macro and comment (COPY FROM DATABASE), in a format older readers open, raw in
    its row order as a file copy keeps it."""
    con = duckdb.connect()
    try:
        warehouse.configure(con, settings)
        con.execute("SET preserve_insertion_order = true")  # raw rows keep their row order (see _check_raw)
        con.execute(f"attach {sql_string(settings.warehouse_path)} as working (read_only)")
        con.execute(f"attach {sql_string(tmp)} as serving (storage_version {sql_string(settings.serving_storage_version)})")
        con.execute("copy from database working to serving")
        con.execute("detach serving")
    finally:
        con.close()


def _remove(database: Path) -> None:
    """A DuckDB file and its write-ahead log."""
    database.unlink(missing_ok=True)
    database.with_name(database.name + ".wal").unlink(missing_ok=True)


def _write_state(con: duckdb.DuckDBPyConnection, token: str, changes_absorbed: int, storage_version: str) -> None:
    con.execute("create schema if not exists meta")
    con.execute("create or replace table meta.serving_state as select ?::varchar as token, ?::bigint as changes_absorbed, "
                "?::varchar as storage_version", [token, changes_absorbed, storage_version])
    con.execute("comment on table meta.serving_state is 'One row: the working file''s state this serving file holds "
                "(its meta.change_log position and the token the working file recorded for it in meta.change_log_readers), "
                "and the serving_storage_version it was written in.'")


# ---- small helpers ---------------------------------------------------------------------------
def _rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def _changed(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """Rows an insert wrote."""
    return con.execute(sql).fetchall()[0][0]


def _row_count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return _rows(con, f"select count(*) from {table}")[0][0]


def _default_database(con: duckdb.DuckDBPyConnection) -> str:
    return _rows(con, "select current_database()")[0][0]


def _has_table(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> bool:
    return _rows(con, "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
                      "and table_name = ?", [database, schema, table])[0][0] > 0
