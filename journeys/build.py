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
    row_counts: dict[str, int] = field(default_factory=dict)
    failed_steps: list[str] = field(default_factory=list)
    checks: list[tuple[str, str, bool, str, dict]] = field(default_factory=list)
    """(asset, check name, passed, severity, metadata) per executed check."""


def build_warehouse(settings: Settings, echo: Callable[[str], None] = lambda _: None) -> BuildResult:
    from dagster import AssetSelection, DagsterInstance, materialize

    from journeys.assets import definitions
    from journeys.assets.raw import raw_ingest
    from journeys.assets.resources import WarehouseResource

    targets = [*definitions.warehouse_assets, definitions.published_warehouse]
    result = materialize(
        # raw is not rebuilt (only ingestion writes it) but its checks run, and can block staging.
        [raw_ingest, *targets, *definitions.quality_checks()],
        selection=AssetSelection.assets(*targets) | AssetSelection.checks_for_assets(raw_ingest),
        resources={"warehouse_resource": WarehouseResource(home=str(settings.home))},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        tags={"journeys/trigger": "journeys build"},
        # INFO: one line per asset as it is built (the progress of a long build); the step-by-step
        # engine events (DEBUG) are for the Dagster UI.
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
    )
    build = BuildResult(success=result.success)
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
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
    echo("build " + ("succeeded; published" if build.success else "FAILED; the published warehouse is unchanged"))
