"""The steps that are Python, not SQL: each writes tables that dbt models read as sources
(models/sources.yml). Dagster makes one asset of each between the dbt models (assets/python_steps.py);
`build_plan` runs them in the same order without Dagster.

    intermediate.int_stage_model, int_stages   the active stage model (stage_models.py)
    intermediate.int_identity_map              identity stitching, union-find (identity.py)
    intermediate.int_journey_steps             journeys cut and walked (classification.py)
    intermediate.int_clv_predictions,
    marts.clv_model_params                     the BG/NBD + Gamma-Gamma fit (customers.py)
    intermediate.int_attribution_credits,
    intermediate.int_attribution_transitions,
    marts.attribution                          six attribution models, Markov in numpy (attribution.py)
    marts.retention_model_params,
    marts.subscriber_value,
    marts.retention_projection                 sBG retention per plan (retention.py)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from journeys.settings import Settings
from journeys.transforms import (
    attribution,
    classification,
    customers,
    dbt_project,
    identity,
    incremental,
    retention,
    stage_models,
)
from journeys.transforms.params import model_params


@dataclass(frozen=True)
class PythonStep:
    name: str
    """The Dagster asset (op) name."""
    tables: tuple[str, ...]
    """The `schema.table`s it writes, each replaced in one transaction."""
    deps: tuple[str, ...]
    """The tables it reads."""
    build: Callable[[duckdb.DuckDBPyConnection, Settings], StepResult]
    """`build(con, settings)` writes its tables."""
    reads_only: dict[str, str] = field(default_factory=dict)
    """Per table read, the condition (SQL both engines run) of the only rows the step reads, which
    its own SQL uses too: where the step runs away from its inputs (on the Spark driver) only
    those rows are carried over."""


@dataclass(frozen=True)
class StepResult:
    rows: dict[str, int]
    """Rows per table written."""
    notes: dict[str, str] = field(default_factory=dict)
    """What else the step found, for logs and asset metadata (e.g. the CLV fit's status)."""


def _one(table: str, build: Callable[[duckdb.DuckDBPyConnection, Settings], int]):
    def run(con: duckdb.DuckDBPyConnection, settings: Settings) -> StepResult:
        return StepResult({table: build(con, settings)})

    run.__doc__ = build.__doc__
    return run


def _identity_map(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Identity stitching, rebuilt whole (about a second for 600k identifiers), logging the
    identifiers whose person changed for the incremental models above it, in the same transaction."""
    with incremental.identity_changes_logged(con) as log_identity_changes:
        return identity.build_int_identity_map(con, settings, before_commit=log_identity_changes)


def _journey_walk(con: duckdb.DuckDBPyConnection, settings: Settings) -> StepResult:
    """Journeys cut and walked: every person on a full build, the persons whose touchpoints changed
    on an incremental one (transforms/incremental.py)."""
    table = "intermediate.int_journey_steps"
    mode, fingerprint, as_of = dbt_project.decide(con, settings, table)
    raw_rows = incremental.raw_rows_now(con)
    persons = None if mode.full else incremental.changed_keys_sql(
        "intermediate.int_touchpoints_stitched", "person_id", mode.changes_from)
    rows = classification.build_int_journey_steps(con, settings, persons)
    incremental.record(con, mode, fingerprint, as_of, raw_rows)
    return StepResult({table: rows}, {f"{'full' if mode.full else 'incremental'} build": mode.reason})


def _clv(con: duckdb.DuckDBPyConnection, settings: Settings) -> StepResult:
    """Fits BG/NBD and Gamma-Gamma once per segment; writes the predictions and the parameters."""
    result = customers.build_clv_fit(con, settings)
    return StepResult({customers.CLV_PREDICTIONS: result.n_customers, customers.CLV_MODEL_PARAMS: result.n_params},
                      {"clv_status": result.status, "clv_method": result.clv_method})


def _attribution(con: duckdb.DuckDBPyConnection, settings: Settings) -> StepResult:
    """Credit for converting journeys by channel and campaign under six attribution models: the
    per-person credits and Markov moves of every person on a full build, of the persons whose
    touchpoints changed on an incremental one, then the mart summed from them."""
    decided = [dbt_project.decide(con, settings, table) for table in (attribution.CREDITS, attribution.TRANSITIONS)]
    full = next((mode for mode, _, _ in decided if mode.full), None)
    raw_rows = incremental.raw_rows_now(con)
    persons = None if full else incremental.changed_keys_sql(
        "intermediate.int_touchpoints_stitched", "person_id", min(mode.changes_from for mode, _, _ in decided))
    rows = attribution.build(con, model_params(con, settings), persons)
    for mode, fingerprint, as_of in decided:
        incremental.record(con, mode if full is None else dataclasses.replace(mode, full=True), fingerprint, as_of,
                           raw_rows)
    reason = (full or decided[0][0]).reason
    return StepResult(rows, {f"{'full' if full else 'incremental'} build": reason})


STEPS: tuple[PythonStep, ...] = (
    PythonStep("int_stage_model", ("intermediate.int_stage_model",), (),
               _one("intermediate.int_stage_model", stage_models.build_int_stage_model)),
    PythonStep("int_stages", ("intermediate.int_stages",), (),
               _one("intermediate.int_stages", stage_models.build_int_stages)),
    PythonStep("int_identity_map", ("intermediate.int_identity_map",),
               ("intermediate.int_identifiers", "intermediate.int_identity_links"),
               _one("intermediate.int_identity_map", _identity_map)),
    PythonStep("int_journey_steps", ("intermediate.int_journey_steps",), ("intermediate.int_touchpoints_stitched",),
               _journey_walk),
    PythonStep("clv_fit", (customers.CLV_PREDICTIONS, customers.CLV_MODEL_PARAMS),
               ("marts.journey_steps", "marts.persons"), _clv,
               reads_only={"marts.journey_steps": customers.CONVERSION_STEPS}),
    PythonStep("attribution", attribution.TABLES, ("marts.journey_steps",), _attribution),
    PythonStep("retention", retention.TABLES, ("marts.journey_steps",),
               lambda con, settings: StepResult(retention.build_retention(con, settings)),
               reads_only={"marts.journey_steps": retention.SUBSCRIPTION_STEPS}),
)
"""Every Python step with what it reads and writes."""
