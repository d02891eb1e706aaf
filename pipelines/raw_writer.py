"""Writes one batch of incoming touchpoints into the raw layer, in one DuckDB transaction.

Kafka ingestion and bulk file loads both end here, so both apply the same validation
(transforms/sql/raw/validated_incoming.sql) and dead-letter the same way. For Kafka batches the
consumed offsets are stored in the same transaction as the rows: after a crash the ingester
resumes from exactly the offsets whose rows were committed, so nothing is lost or duplicated.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from journeys.schemas.pii import redact_text
from journeys.settings import Settings

RAW_SQL_DIR = Path(__file__).resolve().parent / "sql"
"""The raw tables' DDL and the incoming-batch validation: the ingest's own SQL (dbt never writes raw)."""

CONTRACT_COLUMNS = (
    "event_id", "occurred_at", "received_at", "channel", "event_type", "customer_id", "anonymous_id",
    "email_hash", "phone_hash", "loyalty_id", "session_id", "order_id", "revenue", "currency", "campaign",
    "source", "medium", "product_id", "ticket_id", "nps_score", "csat_score", "ces_score", "properties",
)
SOURCE_COLUMNS = ("source_topic", "source_partition", "source_offset", "payload", "parse_errors")
"""Where a row came from, its bytes for a dead letter, and (file loads) the casts it failed."""

_TS = pa.timestamp("us", tz="UTC")
_TYPES = {"occurred_at": _TS, "received_at": _TS, "revenue": pa.float64(), "nps_score": pa.int32(),
          "csat_score": pa.int32(), "ces_score": pa.int32(), "properties": pa.map_(pa.string(), pa.string()),
          "source_partition": pa.int32(), "source_offset": pa.int64(), "payload": pa.binary()}
INCOMING_SCHEMA = pa.schema([(name, _TYPES.get(name, pa.string())) for name in CONTRACT_COLUMNS + SOURCE_COLUMNS])


@dataclass
class BatchResult:
    load_id: str
    n_consumed: int
    n_loaded: int
    n_dead_lettered: int


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute((RAW_SQL_DIR / "create_raw_tables.sql").read_text())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


@functools.cache
def validation_sql() -> str:
    """transforms/sql/raw/validated_incoming.sql, read once per process (every chunk and probe runs it)."""
    return (RAW_SQL_DIR / "validated_incoming.sql").read_text()


def validation_params(settings: Settings, now: dt.datetime) -> dict:
    """The parameters of validated_incoming.sql: the clock and the accepted time range."""
    return {"now": now, "max_future_s": settings.max_event_future_s, "earliest_event_at": settings.earliest_event_at}


Undecodable = tuple[str, int | None, int | None, bytes, str]
"""A message rejected before validation: topic, partition, offset, bytes, reason."""

WRITE_DATA_ERRORS = (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException,
                     duckdb.ConstraintException, duckdb.TypeMismatchException)
"""Errors a row's content can cause (e.g. a timestamp DuckDB cannot represent). A batch failing with
one of these is bisected down to the offending rows, which are dead-lettered. Anything else (a full
disk, out of memory, I/O) fails the batch as a whole: nothing of it is committed, and it is retried."""


def write_batch(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    incoming: pa.Table | str | None,
    undecodable: list[Undecodable] = (),
    next_offsets: dict[tuple[str, int], int | tuple[int, str | None]] | None = None,
    kind: str = "ingest",
    source: str = "kafka",
    gaps: list = (),
) -> BatchResult:
    """Validate `incoming` (an Arrow table or a SELECT in the INCOMING_SCHEMA shape), append valid
    rows to raw.touchpoints and the rest (plus `undecodable` messages) to raw.dead_letters, store
    `next_offsets` (offset, or offset and the digest of the message before it), record `gaps`
    (log_check.Gap), and log the batch in raw.load_runs — all in one transaction.

    A row that makes the write fail (WRITE_DATA_ERRORS) is found by bisection and dead-lettered with
    DuckDB's error, so one poison message never blocks its partition.
    """
    undecodable = list(undecodable)
    try:
        return _write_transaction(con, settings, incoming, undecodable, next_offsets, kind, source, gaps)
    except WRITE_DATA_ERRORS as exc:
        if not isinstance(incoming, pa.Table):
            raise
        error = exc
    good, poison = _isolate_poison(con, settings, incoming)
    if good is None and len(poison) > 1:
        # Every row fails on its own: the cause is not the rows' content but a setting or the
        # warehouse. Dead-lettering them all would lose a whole chunk; fail it uncommitted instead.
        raise RuntimeError(f"none of the {len(poison)} rows of this batch can be stored, so the cause is not one "
                           f"row's content (a setting, or the warehouse itself); nothing was committed: {error}") from error
    return _write_transaction(con, settings, good, undecodable + poison, next_offsets, kind, source, gaps)


def _write_transaction(con, settings, incoming, undecodable, next_offsets, kind, source, gaps) -> BatchResult:
    load_id = f"{kind}-{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    started_at = utc_now()
    con.execute("begin transaction")
    try:
        n_loaded, n_rejected = _write_rows(con, settings, incoming, load_id, started_at)
        if undecodable:
            _write_undecodable(con, undecodable, load_id, started_at)
        for (topic, partition), stored in (next_offsets or {}).items():
            offset, digest = stored if isinstance(stored, tuple) else (stored, None)
            store_offset(con, topic, partition, offset, digest, started_at)
        for gap in gaps:
            record_gap(con, gap.__dict__, load_id)
        n_dead = n_rejected + len(undecodable)
        n_consumed = n_loaded + n_dead
        con.execute("insert into raw.load_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, kind, source, started_at, utc_now(), n_consumed, n_loaded, n_dead])
        con.execute("commit")
    except BaseException:
        _rollback(con)
        raise
    return BatchResult(load_id, n_consumed, n_loaded, n_dead)


def store_offset(con: duckdb.DuckDBPyConnection, topic: str, partition: int, next_offset: int, digest: str | None,
                 at: dt.datetime) -> None:
    """Where ingestion of a partition resumes (inside the caller's transaction)."""
    con.execute(
        "insert into raw.ingest_offsets (topic, partition, next_offset, updated_at, last_message_digest) "
        "values (?, ?, ?, ?, ?) on conflict (topic, partition) do update set next_offset = excluded.next_offset, "
        "updated_at = excluded.updated_at, last_message_digest = excluded.last_message_digest",
        [topic, partition, next_offset, at, digest])


def record_gap(con: duckdb.DuckDBPyConnection, gap: dict, load_id: str) -> None:
    """A log_check.Gap's fields into raw.ingest_gaps (inside the caller's transaction)."""
    con.execute("insert into raw.ingest_gaps values (?, ?, ?, ?, ?, ?, ?, ?)",
                [gap["topic"], gap["partition"], gap["stored_offset"], gap["log_start"], gap["resume_offset"],
                 gap["reason"], gap["detected_at"], load_id])


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, then drop what a failed statement left registered (not transactional)."""
    con.execute("rollback")
    with contextlib.suppress(duckdb.Error):
        con.unregister("incoming")


def _write_rows(con, settings, incoming, load_id: str, started_at: dt.datetime) -> tuple[int, int]:
    """Validated rows into raw.touchpoints, rejected ones into raw.dead_letters; (n loaded, n rejected)."""
    if incoming is None:
        return 0, 0
    validate_sql = validation_sql()
    columns = ", ".join(CONTRACT_COLUMNS + ("source_topic", "source_partition", "source_offset"))
    if isinstance(incoming, str):  # a SELECT, e.g. over a file
        con.execute(f"create or replace temp view incoming as {incoming}")
    else:
        con.register("incoming", incoming)
    # On failure the caller rolls back (undoing the view) and then forgets the registration.
    con.execute(f"create or replace temp table _validated as {validate_sql}", validation_params(settings, started_at))
    if isinstance(incoming, str):
        con.execute("drop view incoming")
    else:
        con.unregister("incoming")
    n_loaded, n_rejected = con.execute(
        "select count(*) filter (reject_reason is null), count(*) filter (reject_reason is not null) from _validated"
    ).fetchall()[0]
    params = {"now": started_at, "load_id": load_id}
    con.execute(f"insert into raw.touchpoints select {columns}, $now, $load_id from _validated "
                "where reject_reason is null", params)
    con.execute("insert into raw.dead_letters select source_topic, source_partition, source_offset, payload, "
                "reject_reason, $now, $load_id from _validated where reject_reason is not null", params)
    con.execute("drop table _validated")
    return n_loaded, n_rejected


def _write_undecodable(con, undecodable: list[Undecodable], load_id: str, started_at: dt.datetime) -> None:
    rows = pa.table({
        "source_topic": [u[0] for u in undecodable], "source_partition": pa.array([u[1] for u in undecodable], pa.int32()),
        "source_offset": pa.array([u[2] for u in undecodable], pa.int64()),
        "payload": pa.array([u[3] for u in undecodable], pa.binary()), "reason": [u[4] for u in undecodable],
    })
    con.register("_undecodable", rows)
    try:
        con.execute("insert into raw.dead_letters select source_topic, source_partition, source_offset, "
                                "payload, reason, $now, $load_id from _undecodable",
                                {"now": started_at, "load_id": load_id})
    finally:
        con.unregister("_undecodable")


def _writes(con, settings, rows: pa.Table) -> str | None:
    """None if `rows` can be written, else DuckDB's error; nothing is kept either way."""
    con.execute("begin transaction")
    try:
        _write_rows(con, settings, rows, "probe", utc_now())
        return None
    except WRITE_DATA_ERRORS as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
    finally:
        _rollback(con)


def _isolate_poison(con, settings, table: pa.Table) -> tuple[pa.Table | None, list[Undecodable]]:
    """Bisect `table` into the rows that can be written and dead letters for the ones that cannot:
    about 2·k·log2(n) probes for k poison rows among n."""
    good, poison = [], []

    def split(rows: pa.Table) -> None:
        error = _writes(con, settings, rows)
        if error is None:
            good.append(rows)
        elif rows.num_rows == 1:
            row = rows.to_pylist()[0]
            poison.append((row["source_topic"], row["source_partition"], row["source_offset"], row["payload"],
                           f"cannot be stored: {redact_text(error)}"))  # DuckDB quotes values in errors
        else:
            half = rows.num_rows // 2
            split(rows.slice(0, half))
            split(rows.slice(half))

    split(table)
    return (pa.concat_tables(good) if good else None), poison


def stored_offsets(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], tuple[int, str | None]]:
    """(topic, partition) -> (next offset, digest of the message before it)."""
    return {(t, p): (o, d) for t, p, o, d in con.execute(
        "select topic, partition, next_offset, last_message_digest from raw.ingest_offsets").fetchall()}
