"""The named parameters every SQL model may use (`$as_of`, `$journey_gap_days`, ...)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import duckdb

from journeys.settings import Settings
from journeys.warehouse import table_exists


def resolve_as_of(con: duckdb.DuckDBPyConnection, settings: Settings) -> dt.datetime:
    """JOURNEYS_AS_OF if set, else the latest event time in staging (else in raw), else now.

    Defaulting to the data's own latest time, not the wall clock, keeps a rebuild of the same
    data identical whenever it runs.
    """
    if settings.as_of is not None:
        return settings.as_of
    for table in ("staging.stg_touchpoints", "raw.touchpoints"):
        if table_exists(con, table):
            latest = con.execute(f"select max(occurred_at) from {table}").fetchone()[0]
            if latest is not None:
                return latest
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def model_params(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Every scalar setting, plus the resolved as_of, by name."""
    params = {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if isinstance(getattr(settings, f.name), (int, float, str))
    }
    params["as_of"] = resolve_as_of(con, settings)
    return params
