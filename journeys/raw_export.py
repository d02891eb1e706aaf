"""The raw layer as Parquet parts, appended by every ingest chunk, load and build.

    published/raw/<table>/<first_row>-<last_row>.parquet   touchpoints, dead_letters, ingest_gaps,
                                                           load_runs: the rows appended since the last part
    published/raw/ingest_offsets/data.parquet              the one table updated in place: whole

Why parts: ingest publishes every chunk, and copying the published DuckDB file to refresh its raw
layer cost the whole warehouse each time. The raw tables only grow (ingest and load append; only
ingest_offsets is updated in place), so each part holds the working table's rows from the row
position where the previous part ended (DuckDB's rowid, dense in a table that is never deleted
from): publishing costs the rows added, whatever the history. A part is written under a temporary
name and renamed, so a reader globbing `*.parquet` sees whole parts only.

When the working table no longer matches its parts (the working file was restored from an older
copy: fewer rows, or a different batch at the last published position), its parts are written
again from the first row: the parts always describe the working table.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeys import warehouse
from journeys.settings import Settings
from journeys.warehouse import sql_string

APPEND_ONLY = ("touchpoints", "dead_letters", "ingest_gaps", "load_runs")
REPLACED_WHOLE = ("ingest_offsets",)
_PART = re.compile(r"^(\d+)-(\d+)\.parquet$")


@dataclass(frozen=True)
class RawExport:
    rows_written: dict[str, int]
    """Per table, the rows this export wrote (0: nothing new)."""
    rewritten: tuple[str, ...] = ()
    """Tables whose parts were written again from the first row (the working file went back)."""


def raw_dir(settings: Settings) -> Path:
    """`published/raw`: one folder of Parquet parts per raw table."""
    return settings.published_dir / "raw"


def export_raw(settings: Settings) -> RawExport | None:
    """Append the working file's new raw rows as parts; None when the working file has no raw layer.
    Hold `warehouse.exclusive_lock` around it: one exporter at a time, and no writer meanwhile."""
    con = _export_connection(settings)
    try:
        con.execute(f"attach {sql_string(settings.warehouse_path)} as working (read_only)")
        present = {t for (t,) in con.execute(
            "select table_name from duckdb_tables() where database_name = 'working' and schema_name = 'raw'"
        ).fetchall()}
        if "touchpoints" not in present:
            return None
        written: dict[str, int] = {}
        rewritten = []
        for table in [t for t in APPEND_ONLY if t in present]:
            written[table], again = _append(con, table, raw_dir(settings) / table)
            if again:
                rewritten.append(table)
        for table in [t for t in REPLACED_WHOLE if t in present]:
            written[table] = _replace(con, table, raw_dir(settings) / table)
        return RawExport(written, tuple(rewritten))
    finally:
        con.close()


def _export_connection(settings: Settings) -> duckdb.DuckDBPyConnection:
    """An in-memory connection under the warehouse's memory limit that keeps insertion order.

    A part must hold its rows in row order (`_same_last_batch` reads its last row by position), and
    DuckDB's scan of a table gives them in rowid order while preserve_insertion_order is on (the
    default, which warehouse.configure turns off for the builds). So the COPY streams: an
    `order by rowid` instead sorted every new row in memory, 7.6 GB for a first export of 10M rows
    on a connection without the warehouse's limit."""
    con = warehouse.configure(duckdb.connect(), settings)
    con.execute("SET preserve_insertion_order = true")
    return con


def parts(folder: Path) -> list[tuple[int, int, Path]]:
    """(first row, last row, path) of each part in `folder`, in row order."""
    if not folder.exists():
        return []
    found = [(int(m[1]), int(m[2]), p) for p in folder.iterdir() if (m := _PART.match(p.name))]
    return sorted(found)


def _append(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> tuple[int, bool]:
    """(rows written, whether the parts were started again) for an append-only table."""
    folder.mkdir(parents=True, exist_ok=True)
    existing = parts(folder)
    start = existing[-1][1] + 1 if existing else 0
    n_rows = con.execute(f"select coalesce(max(rowid) + 1, 0) from working.raw.{table}").fetchall()[0][0]
    again = n_rows < start or (existing and not _same_last_batch(con, table, start - 1, existing[-1]))
    if again:
        for _, _, path in existing:
            path.unlink()
        start = 0
    if n_rows <= start:
        return 0, again
    name = f"{start:012d}-{n_rows - 1:012d}.parquet"
    _write(con, f"select * from working.raw.{table} where rowid >= {start}", folder / name)
    return n_rows - start, again


def _same_last_batch(con: duckdb.DuckDBPyConnection, table: str, position: int, part: tuple[int, int, Path]) -> bool:
    """Whether the working table's row at `position` (the last one published) came from the same load
    or ingest batch as the last row of the last part. Every append-only raw table carries the
    load_id of the transaction that wrote the row, so a working file restored from an older copy,
    then appended to, differs here even when it has grown past the parts again."""
    first, last, path = part
    published = con.execute(f"select load_id from read_parquet({sql_string(path)}) offset {last - first} limit 1").fetchall()
    working = con.execute(f"select load_id from working.raw.{table} where rowid = {position}").fetchall()
    return bool(published and working and published[0][0] == working[0][0])


def _replace(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    _write(con, f"select * from working.raw.{table}", folder / "data.parquet")
    return con.execute(f"select count(*) from working.raw.{table}").fetchall()[0][0]


def _write(con: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        con.execute(f"copy ({query}) to {sql_string(tmp)} (format parquet, compression zstd)")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
