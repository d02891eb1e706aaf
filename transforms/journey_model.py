"""The journey model, raw.touchpoints to marts.journeys: every table in build order, with what it
reads and how it is built, so the CLI (`build_journey_model`) and Dagster (assets/journey_model.py)
run the same list.

    raw.touchpoints
      -> staging.stg_touchpoints                 dedup (first received copy), normalise
      -> intermediate.int_identifiers            one row per identifier value: placeholder? shared?
      -> intermediate.int_identity_links         pairs of identifiers seen together
      -> intermediate.int_identity_map           identity stitching (Python: identity.py)
      -> intermediate.int_touchpoints_stitched   person and stage per touchpoint
      -> intermediate.int_persons
      -> intermediate.int_journey_steps          journeys cut and walked (Python: classification.py)
      -> marts.journeys, marts.journey_steps, marts.persons, marts.identity_map,
         marts.identity_conflicts, marts.stage_model, marts.stages
    transforms/stage_models/*.yaml (+ settings.stage_models_file)
      -> intermediate.int_stage_model, intermediate.int_stages (Python: stage_models.py)

Every table is rebuilt in full from raw on each build: that is what puts late events (a nightly
store batch) in their place, and what makes two builds of the same raw data identical.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import duckdb

from journeys.settings import Settings
from journeys.transforms import classification, identity, runner, stage_models
from journeys.transforms.params import model_params
from journeys.transforms.runner import Model

log = logging.getLogger(__name__)


def journey_params(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Every parameter the journey model's SQL uses: the settings (classification thresholds among
    them) and as_of, plus the identity settings as SQL values."""
    return {**model_params(con, settings), **identity.identity_params(settings)}


def _sql(qualified: str, *deps: str) -> Model:
    return Model(qualified, deps, runner.sql_build(qualified, journey_params))


STAGED = "staging.stg_touchpoints"
MODELS: tuple[Model, ...] = (
    _sql(STAGED, "raw.touchpoints"),
    Model("intermediate.int_stage_model", (), stage_models.build_int_stage_model),
    Model("intermediate.int_stages", (), stage_models.build_int_stages),
    _sql("intermediate.int_identifiers", STAGED),
    _sql("intermediate.int_identity_links", STAGED),
    Model("intermediate.int_identity_map", ("intermediate.int_identifiers", "intermediate.int_identity_links"),
          identity.build_int_identity_map),
    _sql("intermediate.int_touchpoints_stitched", STAGED, "intermediate.int_identity_map", "intermediate.int_stage_model"),
    _sql("intermediate.int_persons", "intermediate.int_identity_map", "intermediate.int_touchpoints_stitched"),
    Model("intermediate.int_journey_steps", ("intermediate.int_touchpoints_stitched",),
          classification.build_int_journey_steps),
    _sql("marts.stage_model", "intermediate.int_stage_model"),
    _sql("marts.stages", "intermediate.int_stages"),
    _sql("marts.identity_map", "intermediate.int_identity_map"),
    _sql("marts.identity_conflicts", "intermediate.int_identifiers", "intermediate.int_identity_links",
         "intermediate.int_identity_map"),
    _sql("marts.persons", "intermediate.int_persons"),
    _sql("marts.journey_steps", "intermediate.int_journey_steps", "intermediate.int_touchpoints_stitched"),
    _sql("marts.journeys", "intermediate.int_journey_steps", "intermediate.int_persons", "intermediate.int_stages"),
)
"""Every table of the journey model, in an order where each comes after what it reads."""


def build_journey_model(con: duckdb.DuckDBPyConnection, settings: Settings,
                        models: Sequence[Model] = MODELS) -> dict[str, int]:
    """Rebuild the journey model's tables in order from raw.touchpoints; returns rows per table.

    Each table is replaced in its own transaction, so a failure leaves the earlier tables rebuilt
    and the rest as they were; rebuilding twice gives the same tables.
    """
    counts: dict[str, int] = {}
    for model in models:
        started = time.perf_counter()
        counts[model.qualified] = model.build(con, settings)
        log.info("%s: %s rows in %.2fs", model.qualified, f"{counts[model.qualified]:,}", time.perf_counter() - started)
    return counts
