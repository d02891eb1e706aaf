"""`journeys build`: materialize every warehouse asset in-process, run the checks, publish.

In-process (one Python process, one step after another) because `dagster asset materialize`
starts a process per step: about 10 s of overhead for a few steps, and every step re-opens the
warehouse anyway.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from journeys.settings import Settings


@dataclass
class BuildResult:
    success: bool
    as_of: str | None = None
    published: dict | None = None
    """The publish step's metadata (path, run_id, as_of) when this build published."""
    row_counts: dict[str, int] = field(default_factory=dict)
    failed_steps: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, bool, str, dict]] = field(default_factory=list)
    """(asset, check name, passed, severity, metadata) per executed check."""


def build_warehouse(settings: Settings, echo: Callable[[str], None] = lambda _: None) -> BuildResult:
    """One whole build under the build lock (a concurrent build waits, then refuses), with as_of
    resolved once for every step."""
    from journeys import warehouse

    with warehouse.build_lock(settings, settings.build_lock_timeout_s):
        as_of = _resolve_as_of_once(settings)
        echo(f"  as_of {as_of:%Y-%m-%d %H:%M:%S} UTC" + ("" if settings.as_of else " (the latest event in raw)"))
        return _materialize(settings, as_of, echo)


def _resolve_as_of_once(settings: Settings):
    from journeys import warehouse
    from journeys.pipelines.raw_writer import create_raw_tables
    from journeys.transforms.params import resolve_as_of

    with warehouse.writer(settings) as con:
        create_raw_tables(con)
        return resolve_as_of(con, settings)


def _materialize(settings: Settings, as_of, echo: Callable[[str], None]) -> BuildResult:
    from dagster import AssetSelection, DagsterInstance, materialize

    from journeys.assets import definitions
    from journeys.assets.raw import raw_ingest
    from journeys.assets.resources import WarehouseResource
    from journeys.assets.serving import PUBLISHED

    targets = [*definitions.warehouse_assets, definitions.published_warehouse]
    result = materialize(
        # raw is not rebuilt (only ingestion writes it) but its checks run, and can block staging.
        [raw_ingest, *targets, *definitions.quality_checks()],
        selection=AssetSelection.assets(*targets) | AssetSelection.checks_for_assets(raw_ingest),
        resources={"warehouse_resource": WarehouseResource(home=str(settings.home), as_of=as_of.isoformat())},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={"journeys/trigger": "journeys build"},
        # INFO: one line per asset as it is built (the progress of a long build); the step-by-step
        # engine events (DEBUG) are for the Dagster UI.
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    build = BuildResult(success=result.success, as_of=as_of.isoformat())
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        if list(materialization.asset_key.path) == PUBLISHED:
            build.published = {k: v.value for k, v in materialization.metadata.items()}
            continue
        key = ".".join(materialization.asset_key.path)
        rows = materialization.metadata.get("dagster/row_count")
        build.row_counts[key] = rows.value if rows is not None else None
    for evaluation in result.get_asset_check_evaluations():
        metadata = {k: v.value for k, v in evaluation.metadata.items()}
        build.checks.append((".".join(evaluation.asset_key.path), evaluation.check_name, evaluation.passed,
                             evaluation.severity.value, metadata))
    build.failed_steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    _report(build, echo)
    return build


def _report(build: BuildResult, echo: Callable[[str], None]) -> None:
    echo(f"  built {len(build.row_counts)} assets (one log line each above, with its row count)")
    failed_checks = [c for c in build.checks if not c[2]]
    n_errors = sum(1 for c in failed_checks if c[3] == "ERROR")
    echo(f"  checks: {len(build.checks) - len(failed_checks)} passed, {n_errors} failed (ERROR, blocking), "
         f"{len(failed_checks) - n_errors} warnings")
    for asset, name, _, severity, metadata in failed_checks:
        details = ", ".join(f"{k}={v}" for k, v in metadata.items() if k != "sample")
        echo(f"  {severity:5} {asset}: {name} — {details}")
        if metadata.get("sample"):
            echo(textwrap.indent(str(metadata["sample"]), " " * 8))
    if build.failed_steps:
        echo(f"  failed steps: {', '.join(build.failed_steps)}")
    if build.success and build.published:
        echo(f"build succeeded; published run {build.published['run_id']} (as_of {build.published['as_of']}) "
             f"to {build.published['path']}")
    else:
        echo("build FAILED; the published warehouse is unchanged (still the last good build)")
