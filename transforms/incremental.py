"""Incremental builds: what each incremental model has absorbed, and whether the next build may add to it.

The models built incrementally, in build order (each reads the ones before, directly or not):

    staging.stg_touchpoints                event grain: the events of raw rows appended since, and
                                           those as_of now takes in
    intermediate.int_identifiers,          identifier grain: the identifiers of the staged events
    intermediate.int_identity_links        that changed, before and after (links: by side a)
    intermediate.int_touchpoints_stitched  event grain: staged events that changed, and the events
                                           carrying an identifier whose person changed
    intermediate.int_journey_steps         person grain: the persons whose stitched events changed
    marts.journey_steps, marts.journeys,   person grain: the same persons
    marts.path_steps, marts.customer_facts,
    marts.customer_spells,
    intermediate.int_attribution_credits,
    intermediate.int_attribution_transitions   (the last two: the attribution step, attribution.py)

The rule:

* raw is append-only, so what staging has absorbed is a raw row position (DuckDB's rowid, through
  the `physical_row_id` macro): every raw row below it, as of an as_of. Above staging, a model
  learns what changed from `meta.change_log`: each incremental model (and the identity stitching,
  which is rebuilt whole but logs the identifiers whose person changed) logs the keys it replaced,
  and a model reads the entries of the models it depends on that were logged after its own last
  build (`changes_absorbed`). Every key is replaced whole, so rebuilding one twice gives the same rows.
* Each model's state in `meta.incremental_state` is recorded right after it is built, with a
  fingerprint of everything else its rows depend on: every setting passed to dbt, the active stage
  model, and the text of every dbt project file and of the Python transforms.
* The next build of a model is incremental when that fingerprint is unchanged, as_of did not move
  back and raw still holds every row absorbed. Anything else is a full build, and the build says
  why: no state (the first build, or `journeys build --full`), a changed setting or model, as_of
  moved back, raw rows missing. A full build of a model that logs changes forgets the state of the
  models that read its log (`log_readers`), so they are rebuilt in full too: they cannot add to
  changes nobody logged.

A build that fails leaves each model's state matching the model: what a model had not absorbed
stays in the log for its next build, and the log is pruned only below what every model absorbed.

Readers outside the build use the same log: the serving files (journeys/serving_file.py) replace,
in their copy of each incremental table, the rows of the keys logged since they were brought up
(`REPLACED_KEYS`, `replaced_rows_condition`), and copy the table whole when the model was built in
full since (`full_build_seq`: a full build logs no keys). They are recorded in
`meta.change_log_readers`, and the log is kept above what they absorbed too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

INCREMENTAL_MODELS = (
    "staging.stg_touchpoints",
    "intermediate.int_identifiers",
    "intermediate.int_identity_links",
    "intermediate.int_touchpoints_stitched",
    "intermediate.int_journey_steps",
    "marts.journey_steps",
    "marts.journeys",
    "marts.path_steps",
    "marts.customer_facts",
    "marts.customer_spells",
    "intermediate.int_attribution_credits",
    "intermediate.int_attribution_transitions",
)
"""The models built incrementally, as `schema.table`, in build order."""

STATE_DDL = """
create schema if not exists meta;
create table if not exists meta.incremental_state (
    model varchar primary key,
    fingerprint varchar not null,
    as_of timestamp not null,
    raw_rows_absorbed bigint not null,
    changes_absorbed bigint not null,
    full_build_seq bigint not null,
    built_at timestamp not null
);
comment on table meta.incremental_state is 'One row per incremental model: the raw rows it has absorbed (every \
raw.touchpoints rowid below raw_rows_absorbed), the meta.change_log entries it has absorbed (change_seq up to \
changes_absorbed), as of which as_of, and the fingerprint of the settings and model text it was built with. A build \
adds to the model only while all of these still hold (transforms/incremental.py). full_build_seq: the change_seq \
of its last full build, which logged no keys (a reader of its rows that absorbed less must copy them whole).';
create table if not exists meta.change_log (
    change_seq bigint not null,
    producer varchar not null,
    key_type varchar not null,
    key varchar not null
);
comment on table meta.change_log is 'The keys an incremental build replaced (producer: the model, key_type: \
event_id, person_id or an identifier type), for the models that read them to replace theirs. Pruned once every \
incremental model and every reader in meta.change_log_readers has absorbed an entry (transforms/incremental.py).';
create sequence if not exists meta.change_seq;
create table if not exists meta.change_log_readers (
    reader varchar primary key,
    changes_absorbed bigint not null,
    token varchar not null
);
comment on table meta.change_log_readers is 'Readers of meta.change_log outside the build (the published serving \
files, journeys/serving_file.py): the entries each has absorbed, and the token it holds of that state. The log is \
kept above what they absorbed too.';
"""

FULL = {}
"""The `incremental` dbt var of a build that knows no state: every incremental model without an
entry re-reads everything (what a plain `journeys dbt build` does: slow but always right)."""


@dataclass(frozen=True)
class BuildMode:
    model: str
    full: bool
    reason: str
    raw_from: int = 0
    """The first raw row position not absorbed yet (incremental builds)."""
    previous_as_of: dt.datetime | None = None
    changes_from: int = 0
    """The last change_seq absorbed: entries after it are read (incremental builds)."""
    change_seq: int = 0
    """This build's change_seq: what the model logs, and what it will have absorbed."""

    def var(self) -> dict:
        """The model's entry in the `incremental` dbt var (macros/incremental.sql reads it)."""
        return {"raw_from": self.raw_from, "changes_from": self.changes_from, "change_seq": self.change_seq,
                "previous_as_of": self.previous_as_of.isoformat(sep=" ") if self.previous_as_of else None}

    def line(self) -> str:
        return f"{self.model}: {'full' if self.full else 'incremental'} build: {self.reason}"


def fingerprint(variables: dict, files: list[Path]) -> str:
    """A hash of every setting the models read (as_of and the incremental var excepted: they are
    checked on their own) and of the text of every file given (the dbt project's and the Python
    transforms', see dbt_project.incremental_fingerprint)."""
    digest = hashlib.sha256()
    settings = {k: v for k, v in variables.items() if k not in ("as_of", "incremental")}
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_state(con: duckdb.DuckDBPyConnection) -> None:
    """The state tables; a state table of an older layout is dropped (the next build is full)."""
    con.execute("create schema if not exists meta")
    columns = {r[0] for r in con.execute("select column_name from duckdb_columns() where schema_name = 'meta' "
                                         "and table_name = 'incremental_state'").fetchall()}
    if columns and "full_build_seq" not in columns:
        con.execute("drop table meta.incremental_state")
    con.execute(STATE_DDL)


def raw_rows_now(con: duckdb.DuckDBPyConnection) -> int:
    """The raw row position after the last row appended so far (rowids start at 0); 0 without a
    raw layer (a warehouse whose upper layers were written directly, as the marts' tests do)."""
    if not _has_raw(con):
        return 0
    last = con.execute("select max(rowid) from raw.touchpoints").fetchall()[0][0]
    return 0 if last is None else last + 1


def _has_raw(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'touchpoints'"
                       ).fetchall()[0][0] > 0


def decide(con: duckdb.DuckDBPyConnection, model: str, current_fingerprint: str, as_of: dt.datetime) -> BuildMode:
    """Whether `model` may be built incrementally on top of what it has absorbed, and why (not).
    Allocates the build's change_seq either way."""
    ensure_state(con)
    change_seq = con.execute("select nextval('meta.change_seq')").fetchall()[0][0]
    schema, table = model.split(".")
    exists = con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?",
                         [schema, table]).fetchall()[0][0]
    state = con.execute("select fingerprint, as_of, raw_rows_absorbed, changes_absorbed from meta.incremental_state "
                        "where model = ?", [model]).fetchall()
    if not state or not exists:
        return BuildMode(model, True, "no earlier build to add to (the first build, or `journeys build --full`)",
                         change_seq=change_seq)
    previous_fingerprint, previous_as_of, absorbed, changes_absorbed = state[0]
    if previous_fingerprint != current_fingerprint:
        return BuildMode(model, True, "a setting or a model changed since the last build", change_seq=change_seq)
    if as_of < previous_as_of:
        return BuildMode(model, True, f"as_of moved back ({previous_as_of:%Y-%m-%d %H:%M:%S} -> {as_of:%Y-%m-%d %H:%M:%S})",
                         change_seq=change_seq)
    if _has_raw(con) and con.execute("select count(*) from raw.touchpoints where rowid < ?",
                                     [absorbed]).fetchall()[0][0] != absorbed:
        return BuildMode(model, True, "raw no longer holds every row the last build read", change_seq=change_seq)
    if model == INCREMENTAL_MODELS[0]:
        reason = f"{raw_rows_now(con) - absorbed:,} raw rows since the last build"
    else:
        reason = changed_keys_line(con, model, changes_absorbed)
    return BuildMode(model, False, reason, absorbed, previous_as_of, changes_absorbed, change_seq)


PRODUCERS = {
    "intermediate.int_identifiers": (("staging.stg_touchpoints", "identifier"),),
    "intermediate.int_identity_links": (("staging.stg_touchpoints", "identifier"),),
    "intermediate.int_touchpoints_stitched": (("staging.stg_touchpoints", "event_id"),
                                              ("intermediate.int_identity_map", "identifier")),
    "intermediate.int_journey_steps": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "marts.journey_steps": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "marts.journeys": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "marts.path_steps": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "marts.customer_facts": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "marts.customer_spells": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "intermediate.int_attribution_credits": (("intermediate.int_touchpoints_stitched", "person_id"),),
    "intermediate.int_attribution_transitions": (("intermediate.int_touchpoints_stitched", "person_id"),),
}
"""Whose change_log entries each incremental model above staging reads, and of which kind: event_id,
person_id, or identifier (any identifier type)."""


def changed_keys_line(con: duckdb.DuckDBPyConnection, model: str, changes_from: int) -> str:
    """What the producers of `model` logged after `changes_from`, e.g. '1,118 events and 98
    identifiers changed since the last build'."""
    matches = " or ".join("(producer = ? and (key_type = ? or (? = 'identifier' and key_type not in "
                          "('event_id', 'person_id'))))" for _ in PRODUCERS[model])
    params = [value for producer, kind in PRODUCERS[model] for value in (producer, kind, kind)]
    counts = dict(con.execute(
        f"select case when key_type in ('event_id', 'person_id') then key_type else 'identifier' end as kind, "
        f"count(distinct (producer, key_type, key)) from meta.change_log "
        f"where change_seq > ? and ({matches}) group by kind", [changes_from, *params]).fetchall())
    words = {"event_id": "events", "identifier": "identifiers", "person_id": "persons"}
    kinds = [kind for _, kind in PRODUCERS[model]]
    return " and ".join(f"{counts.get(kind, 0):,} {words[kind]}" for kind in kinds) + " changed since the last build"


def recount_changes(con: duckdb.DuckDBPyConnection, mode: BuildMode) -> BuildMode:
    """`mode` with its reason counted again once built: a model's producers may have been built in
    the same dbt call, after the mode was decided (staging logs the identifiers that
    int_identifiers reads)."""
    if mode.full or mode.model not in PRODUCERS:
        return mode
    return dataclasses.replace(mode, reason=changed_keys_line(con, mode.model, mode.changes_from))


def changed_keys_sql(producer: str, key_type: str, changes_from: int) -> str:
    """The keys `producer` logged after `changes_from`, as a subquery; macros/incremental.sql's
    `changed_keys` writes the same SQL for the dbt models."""
    return (f"select key from meta.change_log where producer = '{producer}' and key_type = '{key_type}' "
            f"and change_seq > {int(changes_from)}")


def log_changes(con: duckdb.DuckDBPyConnection, change_seq: int, producer: str, select_keys: str,
                params: list | None = None) -> None:
    """Log the (key_type, key) rows of `select_keys` as replaced by `producer` in this build."""
    con.execute(f"insert into meta.change_log select ?, ?, key_type, key from ({select_keys}) where key is not null",
                [change_seq, producer, *(params or [])])


IDENTITY_MAP = "intermediate.int_identity_map"


@contextlib.contextmanager
def identity_changes_logged(con: duckdb.DuckDBPyConnection) -> Iterator[Callable[[], None]]:
    """Around the identity stitching (rebuilt whole): yields the function that logs each identifier
    whose person or sharedness changed, added ones included, for int_touchpoints_stitched to
    re-stitch the events that carry it. The stitching calls it inside the transaction that
    replaces the map, so the map and its log commit together. Nothing is logged while
    int_touchpoints_stitched has no state (its next build is full anyway)."""
    ensure_state(con)
    logging = has_state(con, "intermediate.int_touchpoints_stitched") and con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'intermediate' and table_name = 'int_identity_map'"
    ).fetchall()[0][0] > 0
    if logging:
        con.execute(f"create or replace temp table _previous_identity_map as "
                    f"select identifier_type, identifier_value, person_id, is_shared from {IDENTITY_MAP}")

    def log_identity_changes() -> None:
        if logging:
            log_changes(con, con.execute("select nextval('meta.change_seq')").fetchall()[0][0], IDENTITY_MAP, f"""
                select identifier_type as key_type, identifier_value as key
                from _previous_identity_map as previous
                full outer join {IDENTITY_MAP} as now using (identifier_type, identifier_value)
                where previous.person_id is distinct from now.person_id or previous.is_shared is distinct from now.is_shared""")

    try:
        yield log_identity_changes
    finally:
        if logging:
            con.execute("drop table if exists _previous_identity_map")


def record(con: duckdb.DuckDBPyConnection, mode: BuildMode, current_fingerprint: str, as_of: dt.datetime,
           raw_rows_absorbed: int) -> None:
    """`mode.model` now holds every raw row below `raw_rows_absorbed` and every change logged up to
    its change_seq, as of `as_of`. After a full build, the models that read its change log must be full too."""
    ensure_state(con)
    previous_full = con.execute("select full_build_seq from meta.incremental_state where model = ?",
                                [mode.model]).fetchall()
    full_build_seq = mode.change_seq if mode.full or not previous_full else previous_full[0][0]
    con.execute("insert or replace into meta.incremental_state values (?, ?, ?, ?, ?, ?, ?)",
                [mode.model, current_fingerprint, as_of, raw_rows_absorbed, mode.change_seq, full_build_seq,
                 dt.datetime.now(dt.UTC).replace(tzinfo=None)])
    readers = sorted(log_readers(mode.model)) if mode.full else []
    if readers:
        con.execute("delete from meta.incremental_state where model in ?", [readers])
    prune(con)


def prune(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the change-log entries every reader absorbed: every model that reads the log, and every
    reader outside the build (meta.change_log_readers); all of them when nobody reads it."""
    con.execute("delete from meta.change_log where change_seq <= (select coalesce(min(absorbed), ?) from ("
                "select changes_absorbed as absorbed from meta.incremental_state where model in ? "
                "union all select changes_absorbed from meta.change_log_readers))", [2**63 - 1, list(PRODUCERS)])


def log_readers(model: str) -> set[str]:
    """The models that read `model`'s change-log entries (PRODUCERS), directly or through another.

    A full build logs no keys, so after one these models cannot add to what they absorbed and are
    forgotten (their next build is full). Every other model only reads rows, and a full rebuild
    gives the same rows for the keys that did not change, so its readers stay incremental: at 10M
    events, forgetting by build order instead made the attribution step (built before the
    customer marts by Dagster) rebuild every person on every build, 22 s."""
    readers: set[str] = set()
    todo = [model]
    while todo:
        producer = todo.pop()
        for reader, reads in PRODUCERS.items():
            if reader not in readers and any(p == producer for p, _ in reads):
                readers.add(reader)
                todo.append(reader)
    return readers


def has_state(con: duckdb.DuckDBPyConnection, model: str) -> bool:
    ensure_state(con)
    return con.execute("select count(*) from meta.incremental_state where model = ?", [model]).fetchall()[0][0] > 0


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Make the next build full (`journeys build --full`)."""
    ensure_state(con)
    con.execute("delete from meta.incremental_state")
    con.execute("delete from meta.change_log")
    con.execute("delete from meta.change_log_readers")  # what they absorbed is gone: they start again whole


# ---- readers outside the build -------------------------------------------------------------
PERSON_GRAIN = ("intermediate.int_journey_steps", "marts.journey_steps", "marts.journeys", "marts.path_steps",
                "marts.customer_facts", "marts.customer_spells", "intermediate.int_attribution_credits",
                "intermediate.int_attribution_transitions")

REPLACED_KEYS = {
    "staging.stg_touchpoints": (("event_id",), "staging.stg_touchpoints", "event_id"),
    "intermediate.int_identifiers": (("identifier_type", "identifier_value"), "staging.stg_touchpoints", "identifier"),
    "intermediate.int_identity_links": (("identifier_type_a", "identifier_value_a"), "staging.stg_touchpoints",
                                        "identifier"),
    "intermediate.int_touchpoints_stitched": (("event_id",), "intermediate.int_touchpoints_stitched", "event_id"),
    **{model: (("person_id",), "intermediate.int_touchpoints_stitched", "person_id") for model in PERSON_GRAIN},
}
"""Which rows an incremental build of each model replaces: those whose key columns hold a key that
the producer logged (of that kind). Every model deletes the rows of those keys and inserts them again,
so the same condition on another copy of the table (a serving file) says which of its rows to replace."""


def replaced_rows_condition(model: str, changes_from: int, log: str = "meta.change_log") -> str:
    """A condition on `model`'s rows: replaced by an incremental build since `changes_from`, as
    `log` (the change log, e.g. of an attached database) records it."""
    columns, producer, kind = REPLACED_KEYS[model]
    where = f"producer = '{producer}' and change_seq > {int(changes_from)}"
    if kind == "identifier":
        return (f"({columns[0]}, {columns[1]}) in (select key_type, key from {log} "
                f"where {where} and key_type not in ('event_id', 'person_id'))")
    return f"{columns[0]} in (select key from {log} where {where} and key_type = '{kind}')"


def register_reader(con: duckdb.DuckDBPyConnection, reader: str, changes_absorbed: int, token: str) -> None:
    """`reader` (outside the build) now holds every change logged up to `changes_absorbed`."""
    ensure_state(con)
    con.execute("insert or replace into meta.change_log_readers values (?, ?, ?)", [reader, changes_absorbed, token])
    prune(con)
