"""Dagster assets of the journey model: one per table, keyed [layer, table], built by the same
functions `journeys build` runs (transforms/journey_model.py), so the UI shows
raw -> staging -> intermediate -> marts lineage for exactly what the CLI builds."""

from __future__ import annotations

from journeys.assets.sql_model import sql_model_asset
from journeys.transforms.journey_model import MODELS

journey_model_assets = [sql_model_asset(model.qualified, model.deps, model.build) for model in MODELS]
