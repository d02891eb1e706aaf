"""The assets a build materializes, for given settings: every dbt model (custom models included,
which is why this depends on the settings) and the Python steps between them, then publishing."""

from dataclasses import dataclass

from journeys.assets.dbt_models import make_dbt_assets
from journeys.assets.python_steps import python_step_assets
from journeys.assets.serving import published_warehouse_asset
from journeys.settings import Settings
from journeys.transforms import dbt_project


@dataclass(frozen=True)
class WarehouseAssets:
    tables: list
    """Every table a build rebuilds (all but raw, which only ingestion writes)."""
    published: object
    """The publish step: depends on every table, refuses a partial run."""


_built: dict[int, tuple[object, WarehouseAssets]] = {}


def warehouse_assets(settings: Settings) -> WarehouseAssets:
    """The assets of the project as parsed for `settings` (one set per parse, reused while the model
    files are unchanged)."""
    manifest = dbt_project.manifest(settings)
    if id(manifest) not in _built or _built[id(manifest)][0] is not manifest:
        as_dict = manifest.writable_manifest().to_dict()
        tables = [*make_dbt_assets(as_dict), *python_step_assets(as_dict)]
        _built[id(manifest)] = (manifest, WarehouseAssets(tables, published_warehouse_asset(
            [key for asset in tables for key in asset.keys])))
    return _built[id(manifest)][1]
