"""Incremental builds: what an incremental model has absorbed, and whether the next build may add to it.

The rule, for a model built incrementally (today `staging.stg_touchpoints`):

* raw is append-only, so what a model has absorbed is a raw row position (DuckDB's rowid, through
  the `physical_row_id` macro): every raw row below it, as of an as_of. It is recorded in
  `meta.incremental_state` right after the model is built, with a fingerprint of everything else
  its rows depend on (every setting passed to dbt, and the text of every file of the dbt project).
* The next build is incremental when that fingerprint is unchanged, as_of did not move back and raw
  still holds every row absorbed. The model then rebuilds only the events touched since: the events
  of raw rows from that position on (late ones included: a store batch of last week lands in its
  place) and the events that as_of now takes in. Every copy of such an event is read again, so
  which copy is kept follows the same rule as a full build.
* Anything else is a full build, and the build says why: no state (the first build, or
  `journeys build --full`), a changed setting or model, as_of moved back, raw rows missing.

A build that fails after the model was built leaves a state that matches the model; one that fails
before leaves the previous state, and rebuilding an event twice gives the same row, so the next
build catches up either way.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb

INCREMENTAL_MODELS = ("staging.stg_touchpoints",)
"""The models built incrementally, as `schema.table`."""

STATE_DDL = """
create schema if not exists meta;
create table if not exists meta.incremental_state (
    model varchar primary key,
    fingerprint varchar not null,
    as_of timestamp not null,
    raw_rows_absorbed bigint not null,
    built_at timestamp not null
);
comment on table meta.incremental_state is 'One row per incremental model: the raw rows it has absorbed (every \
raw.touchpoints rowid below raw_rows_absorbed), as of which as_of, and the fingerprint of the settings and model \
text it was built with. A build adds to the model only while all three still hold (transforms/incremental.py).';
"""

EVERY_RAW_ROW = {"incremental_raw_from": 0, "incremental_previous_as_of": None}
"""The vars that tell an incremental model where to start (not part of the fingerprint), set to
re-read every raw row: what a plain `journeys dbt build` does, slow but always right."""


@dataclass(frozen=True)
class BuildMode:
    model: str
    full: bool
    reason: str
    raw_from: int = 0
    """The first raw row position not absorbed yet (incremental builds)."""
    previous_as_of: dt.datetime | None = None

    def vars(self) -> dict:
        return {"incremental_raw_from": self.raw_from,
                "incremental_previous_as_of": self.previous_as_of.isoformat(sep=" ") if self.previous_as_of else None}

    def line(self) -> str:
        return f"{self.model}: {'full' if self.full else 'incremental'} build: {self.reason}"


def fingerprint(variables: dict, project_files: list[Path]) -> str:
    """A hash of every setting the models read (as_of and the incremental vars excepted: they are
    checked on their own) and of the text of every project file (dbt_project.project_files)."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in variables.items() if k != "as_of" and k not in EVERY_RAW_ROW}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in project_files:
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def raw_rows_now(con: duckdb.DuckDBPyConnection) -> int:
    """The raw row position after the last row appended so far (rowids start at 0)."""
    last = con.execute("select max(rowid) from raw.touchpoints").fetchone()[0]
    return 0 if last is None else last + 1


def decide(con: duckdb.DuckDBPyConnection, model: str, current_fingerprint: str, as_of: dt.datetime) -> BuildMode:
    """Whether `model` may be built incrementally on top of what it has absorbed, and why (not)."""
    con.execute(STATE_DDL)
    schema, table = model.split(".")
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                         [schema, table]).fetchone()[0]
    state = con.execute("select fingerprint, as_of, raw_rows_absorbed from meta.incremental_state where model = ?",
                        [model]).fetchone()
    if state is None or not exists:
        return BuildMode(model, True, "no earlier build to add to (the first build, or `journeys build --full`)")
    previous_fingerprint, previous_as_of, absorbed = state
    if previous_fingerprint != current_fingerprint:
        return BuildMode(model, True, "a setting or a model changed since the last build")
    if as_of < previous_as_of:
        return BuildMode(model, True, f"as_of moved back ({previous_as_of:%Y-%m-%d %H:%M:%S} -> {as_of:%Y-%m-%d %H:%M:%S})")
    if con.execute("select count(*) from raw.touchpoints where rowid < ?", [absorbed]).fetchone()[0] != absorbed:
        return BuildMode(model, True, "raw no longer holds every row the last build read")
    new_rows = raw_rows_now(con) - absorbed
    return BuildMode(model, False, f"{new_rows:,} raw rows since the last build", absorbed, previous_as_of)


def record(con: duckdb.DuckDBPyConnection, model: str, current_fingerprint: str, as_of: dt.datetime,
           raw_rows_absorbed: int) -> None:
    """`model` now holds every raw row below `raw_rows_absorbed`, as of `as_of`."""
    con.execute(STATE_DDL)
    con.execute("insert or replace into meta.incremental_state values (?, ?, ?, ?, ?)",
                [model, current_fingerprint, as_of, raw_rows_absorbed, dt.datetime.now(dt.UTC).replace(tzinfo=None)])


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Make the next build full (`journeys build --full`)."""
    con.execute(STATE_DDL)
    con.execute("delete from meta.incremental_state")
