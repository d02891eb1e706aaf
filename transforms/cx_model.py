"""The customer-experience marts: satisfaction, support, pain points, paths, attribution and
segments, in build order, with what each reads. `build_cx` (the CLI) and Dagster (assets/cx.py)
run the same list.

    intermediate.int_touchpoints_stitched, marts.journey_steps, marts.journeys
      -> marts.survey_responses     one row per survey response, with the touchpoint it rates
      -> marts.satisfaction         NPS, CSAT, CES by dimension, with margins of error
    intermediate.int_touchpoints_stitched, marts.persons
      -> marts.support_tickets      one row per ticket: response, resolution, SLA, repeat contact
      -> marts.support_sla          ticket aggregates by dimension
    marts.journey_steps (+ marts.journeys, marts.survey_responses)
      -> marts.path_variants        frequent collapsed paths per journey type
      -> marts.step_transitions     step-to-step links for a Sankey diagram
      -> marts.pain_points          drop-offs, slow transitions, unhappy touchpoints, churn exits
      -> marts.attribution          six attribution models (Python: attribution.py, Markov in numpy)
    marts.journey_steps, marts.journeys, marts.customer_value, marts.customer_lifecycle
      -> marts.customer_segments    RFM, named segments, high value, at risk
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import duckdb

from journeys.settings import Settings
from journeys.transforms import attribution, runner
from journeys.transforms.params import model_params
from journeys.transforms.runner import Model

log = logging.getLogger(__name__)


def build_attribution(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Credit for converting journeys by channel and campaign under six attribution models."""
    return attribution.build(con, model_params(con, settings))


def _sql(qualified: str, *deps: str) -> Model:
    return Model(qualified, deps, runner.sql_build(qualified, model_params))


STITCHED = "intermediate.int_touchpoints_stitched"
STEPS = "marts.journey_steps"
JOURNEYS = "marts.journeys"
CX_MODELS: tuple[Model, ...] = (
    _sql("marts.survey_responses", STITCHED, STEPS, JOURNEYS),
    _sql("marts.satisfaction", "marts.survey_responses"),
    _sql("marts.support_tickets", STITCHED, "marts.persons"),
    _sql("marts.support_sla", "marts.support_tickets"),
    _sql("marts.path_variants", STEPS, JOURNEYS),
    _sql("marts.step_transitions", STEPS),
    _sql("marts.pain_points", STEPS, "marts.survey_responses"),
    Model("marts.attribution", (STEPS,), build_attribution),
    _sql("marts.customer_segments", STEPS, JOURNEYS, "marts.customer_value", "marts.customer_lifecycle"),
)
"""Every CX table, in an order where each comes after the CX tables it reads."""


def build_cx(con: duckdb.DuckDBPyConnection, settings: Settings, models: Sequence[Model] = CX_MODELS) -> dict[str, int]:
    """Rebuild the CX marts in order (the journey model and metrics must be built); rows per table."""
    counts: dict[str, int] = {}
    for model in models:
        started = time.perf_counter()
        counts[model.qualified] = model.build(con, settings)
        log.info("%s: %s rows in %.2fs", model.qualified, f"{counts[model.qualified]:,}", time.perf_counter() - started)
    return counts
