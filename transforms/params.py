"""The named parameters every SQL model may use (`$as_of`, `$journey_gap_days`, ...)."""

from __future__ import annotations

import datetime as dt

import duckdb

from journeys.settings import KAFKA_SETTINGS, SECRETS, Settings
from journeys.transforms.currency import rate_params
from journeys.warehouse import table_exists


def resolve_as_of(con: duckdb.DuckDBPyConnection, settings: Settings) -> dt.datetime:
    """JOURNEYS_AS_OF if set, else the latest event time in raw, else now.

    Defaulting to the data's own latest time, not the wall clock, keeps a rebuild of the same
    data identical whenever it runs. Raw, not staging: staging is cut at the as_of of the build
    that made it.
    """
    if settings.as_of is not None:
        return settings.as_of
    if table_exists(con, "raw.touchpoints"):
        latest = con.execute("select max(occurred_at) from raw.touchpoints").fetchall()[0][0]
        if latest is not None:
            return latest
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def model_params(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Every scalar setting, every list-of-strings setting (as a DuckDB list), the resolved as_of, and
    the exchange rates into the reporting currency (`$currency_rates`, transforms/currency.py).

    Not the Kafka client's settings, which no model reads, nor secrets: these values become dbt
    vars, which dbt writes into its manifest."""
    params = {}
    for name in type(settings).model_fields:
        if name in KAFKA_SETTINGS or name in SECRETS:
            continue
        value = getattr(settings, name)
        if isinstance(value, (int, float, str)):
            params[name] = value
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            params[name] = list(value)
    params["as_of"] = resolve_as_of(con, settings)
    params.update(rate_params(settings.reporting_currency, settings.currency_rates_file))
    return params
