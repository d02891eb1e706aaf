"""Writes one batch of incoming touchpoints into the raw layer, in one DuckDB transaction.

Kafka ingestion and bulk file loads both end here, so both apply the same validation
(transforms/sql/raw/validated_incoming.sql) and dead-letter the same way. For Kafka batches the
consumed offsets are stored in the same transaction as the rows: after a crash the ingester
resumes from exactly the offsets whose rows were committed, so nothing is lost or duplicated.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from journeys.settings import Settings
from journeys.transforms.runner import SQL_DIR

RAW_SQL_DIR = SQL_DIR / "raw"

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


def validation_params(settings: Settings, now: dt.datetime) -> dict:
    """The parameters of validated_incoming.sql: the clock and the accepted time range."""
    return {"now": now, "max_future_s": settings.max_event_future_s, "earliest_event_at": settings.earliest_event_at}


def write_batch(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    incoming: pa.Table | str | None,
    undecodable: list[tuple[str, int | None, int | None, bytes, str]] = (),
    next_offsets: dict[tuple[str, int], int] | None = None,
    kind: str = "ingest",
    source: str = "kafka",
) -> BatchResult:
    """Validate `incoming` (an Arrow table or a SELECT in the INCOMING_SCHEMA shape), append valid rows to raw.touchpoints and the rest (plus `undecodable`
    messages: topic, partition, offset, bytes, reason) to raw.dead_letters, store `next_offsets`,
    and log the batch in raw.load_runs — all in one transaction."""
    load_id = f"{kind}-{utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    started_at = utc_now()
    params = validation_params(settings, started_at)
    validate_sql = (RAW_SQL_DIR / "validated_incoming.sql").read_text()
    columns = ", ".join(CONTRACT_COLUMNS + ("source_topic", "source_partition", "source_offset"))
    con.execute("begin transaction")
    try:
        n_loaded = n_rejected = 0
        if incoming is not None:
            if isinstance(incoming, str):  # a SELECT, e.g. over a file
                con.execute(f"create or replace temp view incoming as {incoming}")
            else:
                con.register("incoming", incoming)
            con.execute(f"create or replace temp table _validated as {validate_sql}", params)
            con.execute("drop view incoming") if isinstance(incoming, str) else con.unregister("incoming")
            n_loaded, n_rejected = con.execute(
                "select count(*) filter (reject_reason is null), count(*) filter (reject_reason is not null) from _validated"
            ).fetchall()[0]
            con.execute(f"insert into raw.touchpoints select {columns}, $now, $load_id from _validated "
                        "where reject_reason is null", {"now": started_at, "load_id": load_id})
            con.execute("insert into raw.dead_letters select source_topic, source_partition, source_offset, payload, "
                        "reject_reason, $now, $load_id from _validated where reject_reason is not null",
                        {"now": started_at, "load_id": load_id})
            con.execute("drop table _validated")
        if undecodable:
            rows = pa.table({
                "source_topic": [u[0] for u in undecodable], "source_partition": pa.array([u[1] for u in undecodable], pa.int32()),
                "source_offset": pa.array([u[2] for u in undecodable], pa.int64()),
                "payload": pa.array([u[3] for u in undecodable], pa.binary()), "reason": [u[4] for u in undecodable],
            })
            con.register("_undecodable", rows)
            con.execute("insert into raw.dead_letters select source_topic, source_partition, source_offset, payload, "
                        "reason, $now, $load_id from _undecodable", {"now": started_at, "load_id": load_id})
            con.unregister("_undecodable")
        for (topic, partition), offset in (next_offsets or {}).items():
            con.execute(
                "insert into raw.ingest_offsets values (?, ?, ?, ?) on conflict (topic, partition) "
                "do update set next_offset = excluded.next_offset, updated_at = excluded.updated_at",
                [topic, partition, offset, started_at],
            )
        n_dead = n_rejected + len(undecodable)
        n_consumed = n_loaded + n_dead
        con.execute("insert into raw.load_runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [load_id, kind, source, started_at, utc_now(), n_consumed, n_loaded, n_dead])
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return BatchResult(load_id, n_consumed, n_loaded, n_dead)


def stored_offsets(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], int]:
    return {(t, p): o for t, p, o in con.execute("select topic, partition, next_offset from raw.ingest_offsets").fetchall()}
