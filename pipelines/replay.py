"""`journeys produce --file`: replays a file of touchpoints into Kafka.

Rows are read strictly (file_source, the same reader as `journeys load`) and validated in DuckDB
with the same rules as ingestion; valid rows are encoded and sent to their channel's topic, the
rest go to the dead-letter topic with their reason and `row_number` (the file's line number, or
Parquet row number), so a replay never drops a row silently.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from journeys import warehouse
from journeys.pipelines.file_source import incoming_sql
from journeys.pipelines.producer import TouchpointProducer
from journeys.pipelines.raw_writer import CONTRACT_COLUMNS, utc_now, validation_params, validation_sql
from journeys.settings import Settings


@dataclass
class ReplayReport:
    n_rows: int
    n_sent: int
    n_dead_lettered: int


def _utc(value):
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return value


def replay_file(settings: Settings, path: Path, renames: dict[str, str] | None = None, progress=None,
                chunk_rows: int = 50_000) -> ReplayReport:
    con = warehouse.configure(duckdb.connect(), settings)
    validate = validation_sql()
    con.execute(f"create temp view incoming as {incoming_sql(con, path, renames, max_line_bytes=settings.file_max_line_bytes)}")
    result = con.execute(f"select * from ({validate})", validation_params(settings, utc_now()))
    names = [d[0] for d in result.description]
    n_rows = 0
    with TouchpointProducer() as producer:
        while rows := result.fetchmany(chunk_rows):
            for row in rows:
                record = dict(zip(names, row))
                reason = record.pop("reject_reason")
                if reason:
                    producer.dead_letter({"row": record["payload"].decode(errors="replace"),
                                          "file": record["source_topic"], "row_number": record["source_offset"]}, reason)
                else:
                    contract = {name: _utc(record[name]) for name in CONTRACT_COLUMNS}
                    contract["properties"] = contract["properties"] or {}
                    if contract["received_at"] is None:
                        contract["received_at"] = dt.datetime.now(dt.UTC)
                    producer.send(contract)
            n_rows += len(rows)
            if progress is not None:
                progress.update(len(rows))
        producer.flush()
        return ReplayReport(n_rows, producer.n_sent, producer.n_dead_lettered)
