"""The metrics marts, read from the journey model: every table in build order, with what it reads and
how it is built, so `build_metrics` (CLI, benchmarks) and Dagster (assets/metrics.py) run the same list.

    marts.journeys, marts.journey_steps, marts.stages
      -> marts.stage_funnel            per stage: reached, conversion to the next, drop-off, time
      -> marts.conversion              per period and breakdown: conversion rate, revenue, AOV, time to convert
    marts.journey_steps
      -> marts.customer_churn_periods  per customer: retained and churned periods (the churn timeline)
      -> marts.customer_lifecycle      per customer: status at as_of and the rule that decided it
      -> marts.churn_monthly           per month and breakdown: customers at start, churned, churn rate
      -> marts.cohort_retention        per acquisition cohort and month since: share still retained
      -> marts.customer_value          per customer: value to date and predicted CLV (Python: customers.py)
         marts.clv_model_params        per fitted CLV parameter (same fit as customer_value)

Every mart is computed as of `as_of` (touchpoints after it are ignored) and sliced in long format
(breakdown, breakdown_value) by first-touch channel, journey type, cohort month and persona.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb

from journeys.settings import Settings
from journeys.transforms import customers, runner
from journeys.transforms.params import model_params

log = logging.getLogger(__name__)

STEPS, JOURNEYS, STAGES, PERSONS = "marts.journey_steps", "marts.journeys", "marts.stages", "marts.persons"
PERIODS, LIFECYCLE = "marts.customer_churn_periods", "marts.customer_lifecycle"


def sql_build(qualified: str) -> Callable[[duckdb.DuckDBPyConnection, Settings], dict[str, int]]:
    """runner.sql_build, returning rows per table as every metrics build does."""
    build_one = runner.sql_build(qualified, model_params)

    def build(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
        return {qualified: build_one(con, settings)}

    build.__name__, build.__doc__ = build_one.__name__, build_one.__doc__
    return build


def build_clv_tables(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    """Fit CLV once; write marts.customer_value and marts.clv_model_params."""
    result = customers.build_clv(con, settings)
    return {customers.CUSTOMER_VALUE: result.n_customers, customers.CLV_MODEL_PARAMS: result.n_params}


@dataclass(frozen=True)
class MetricModel:
    tables: tuple[str, ...]
    """The `layer.table`s the build writes (one, except the CLV fit's two); each is a Dagster asset."""
    deps: tuple[str, ...]
    """Tables it reads."""
    build: Callable[[duckdb.DuckDBPyConnection, Settings], dict[str, int]]
    """`build(con, settings)` replaces its tables, each in one transaction; returns rows per table."""


def _sql(qualified: str, *deps: str) -> MetricModel:
    return MetricModel((qualified,), deps, sql_build(qualified))


MODELS: tuple[MetricModel, ...] = (
    _sql("marts.stage_funnel", STEPS, JOURNEYS, STAGES),
    _sql("marts.conversion", STEPS, JOURNEYS),
    _sql(PERIODS, STEPS),
    _sql(LIFECYCLE, STEPS, JOURNEYS, PERIODS),
    _sql("marts.churn_monthly", LIFECYCLE, PERIODS),
    _sql("marts.cohort_retention", LIFECYCLE, PERIODS),
    MetricModel((customers.CUSTOMER_VALUE, customers.CLV_MODEL_PARAMS), (STEPS, LIFECYCLE, PERSONS), build_clv_tables),
)
"""Every metrics table, in an order where each comes after what it reads."""


def build_metrics(con: duckdb.DuckDBPyConnection, settings: Settings,
                  models: Sequence[MetricModel] = MODELS) -> dict[str, int]:
    """Rebuild the metrics marts in order from the journey model's marts; returns rows per table.

    Run it after the journey model (marts.journeys, marts.journey_steps, marts.stages). Each table
    is replaced in its own transaction, so a failure leaves the earlier tables rebuilt and the rest
    as they were; rebuilding twice gives the same tables.
    """
    counts: dict[str, int] = {}
    for model in models:
        started = time.perf_counter()
        written = model.build(con, settings)
        counts.update(written)
        for table, rows in written.items():
            log.info("%s: %s rows in %.2fs", table, f"{rows:,}", time.perf_counter() - started)
    return counts
