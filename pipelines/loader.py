"""`journeys load --file`: a backfill straight into raw.touchpoints (or the raw lake), validated and dead-lettered
exactly like Kafka ingestion, at DuckDB speed (no per-row Python). The file is read strictly
(file_source): every physical row is loaded or dead-lettered with its line number, so the load's
consumed = loaded + dead-lettered counts the file's rows exactly."""

from __future__ import annotations

from pathlib import Path

from journeys import warehouse
from journeys.pipelines.file_source import incoming_sql
from journeys.pipelines.lake_writer import LakeWriter
from journeys.pipelines.raw_writer import BatchResult, create_raw_tables, write_batch
from journeys.schemas.pii import redact_text
from journeys.settings import Settings


def load_file(settings: Settings, path: Path, renames: dict[str, str] | None = None) -> BatchResult:
    """Into the warehouse's raw layer, or (engine spark) into the raw lake as one commit."""
    if settings.engine == "spark":
        lake = LakeWriter(settings)
        try:
            incoming = incoming_sql(lake.con, path, renames, max_line_bytes=settings.file_max_line_bytes)
            return lake.write_load(incoming, source=redact_text(str(path)))
        finally:
            lake.close()
    with warehouse.writer(settings) as con:
        create_raw_tables(con)
        incoming = incoming_sql(con, path, renames, max_line_bytes=settings.file_max_line_bytes)
        return write_batch(con, settings, incoming, kind="load", source=redact_text(str(path)))
