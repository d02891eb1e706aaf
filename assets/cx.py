"""Dagster assets of the customer-experience marts: one per table, keyed [layer, table], built by
the same functions `build_cx` runs (transforms/cx_model.py)."""

from __future__ import annotations

from journeys.assets.sql_model import sql_model_asset
from journeys.transforms.cx_model import CX_MODELS

cx_assets = [sql_model_asset(model.qualified, model.deps, model.build) for model in CX_MODELS]
