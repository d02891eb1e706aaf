"""`journeys build`: materialize every warehouse asset in-process, run the checks, publish.

In-process (one Python process, one step after another) because `dagster asset materialize`
starts a process per step: about 10 s of overhead for a few steps, and every step re-opens the
warehouse anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from journeys.settings import Settings

PROGRESS = logging.getLogger("journeys.build")
"""Build steps log one line per table here ("marts.journeys: 1,234 rows"); `journeys build` prints them."""


class NothingToBuildError(RuntimeError):
    pass


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
    step_seconds: dict[str, float] = field(default_factory=dict)
    """Per Dagster step that succeeded (an asset, a Python step, a table's checks), its duration."""


def build_warehouse(settings: Settings, echo: Callable[[str], None] = lambda _: None,
                    verbose: bool = False, full: bool = False) -> BuildResult:
    """One whole build under the build lock (a concurrent build waits, then refuses), with as_of
    resolved once for every step. `full` rebuilds the incremental models from all of raw
    (transforms/incremental.py). Dagster's own step-by-step log is shown only when `verbose`."""
    from journeys import warehouse

    with warehouse.build_lock(settings, settings.build_lock_timeout_s):
        if settings.engine == "spark":
            from journeys.transforms.spark_build import lake_as_of

            as_of = lake_as_of(settings)
            echo(f"  engine spark at {settings.spark_master}, raw lake {settings.lake_path} (a Spark build is always full)")
        else:
            as_of = _prepare(settings, full)
        latest = " (the latest event in the lake)" if settings.engine == "spark" else " (the latest event in raw)"
        echo(f"  as_of {as_of:%Y-%m-%d %H:%M:%S} UTC" + ("" if settings.as_of else latest))
        with _progress_to(echo):
            return _materialize(settings, as_of, echo, verbose)


def _prepare(settings: Settings, full: bool):
    """Before any step: refuse an empty raw layer, forget the incremental state when `full`, and
    resolve as_of once for the whole build."""
    from journeys import warehouse
    from journeys.pipelines.raw_writer import create_raw_tables
    from journeys.transforms import incremental
    from journeys.transforms.params import resolve_as_of

    with warehouse.writer(settings) as con:
        create_raw_tables(con)
        if con.execute("select count(*) from raw.touchpoints").fetchone()[0] == 0:
            raise NothingToBuildError(f"nothing ingested yet in {settings.warehouse_path}: run `journeys ingest` "
                                      "or `journeys load --file ...` first, or `journeys demo` to try it out")
        if full:
            incremental.forget(con)
        return resolve_as_of(con, settings)


@contextlib.contextmanager
def _progress_to(echo: Callable[[str], None]) -> Iterator[None]:
    class Echo(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            echo(f"  {record.getMessage()}")

    handler = Echo(logging.INFO)
    PROGRESS.addHandler(handler)
    previous = PROGRESS.level, PROGRESS.propagate
    PROGRESS.setLevel(logging.INFO)
    PROGRESS.propagate = False  # printed once, by echo, whatever the root logger does
    try:
        yield
    finally:
        PROGRESS.removeHandler(handler)
        PROGRESS.level, PROGRESS.propagate = previous


def _materialize(settings: Settings, as_of, echo: Callable[[str], None], verbose: bool) -> BuildResult:
    from dagster import AssetSelection, materialize

    from journeys.assets.raw import raw_ingest
    from journeys.assets.resources import WarehouseResource
    from journeys.assets.serving import PUBLISHED
    from journeys.assets.warehouse_assets import warehouse_assets
    from journeys.quality.checks import all_checks

    if settings.engine == "spark":  # one step: tables, gates and publishing on one Spark session
        from journeys.assets.spark_build import spark_build_asset

        targets, checks = [spark_build_asset(settings)], []
    else:
        assets = warehouse_assets(settings)
        targets, checks = [*assets.tables, assets.published], all_checks()
    result = materialize(
        # raw is not rebuilt (only ingestion writes it) but its checks run, and can block staging.
        [raw_ingest, *targets, *checks],
        selection=AssetSelection.assets(*targets) | AssetSelection.checks_for_assets(raw_ingest),
        resources={"warehouse_resource": WarehouseResource(home=str(settings.home), as_of=as_of.isoformat())},
        instance=_instance(),
        raise_on_error=False,
        tags={"journeys/trigger": "journeys build"},
        # Progress comes from PROGRESS (one line per table); Dagster's engine log, with its
        # tracebacks, only under -v. Failures are summarised in one line each below.
        run_config={"loggers": {"console": {"config": {"log_level": "INFO" if verbose else "CRITICAL"}}}},
    )
    build = BuildResult(success=result.success, as_of=as_of.isoformat())
    wrote: dict[str, list[str]] = {}  # a dbt step's key says nothing ("dbt_models_2"): name its tables
    for event in result.get_asset_materialization_events():
        materialization = event.event_specific_data.materialization
        wrote.setdefault(event.step_key, []).append(".".join(materialization.asset_key.path))
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
    build.failed_steps = [f"{e.step_key}: {_failure_line(e)}" for e in result.all_events
                          if e.event_type_value == "STEP_FAILURE" and not _is_check_failure(e)]
    build.step_seconds = {_step_name(e.step_key, wrote.get(e.step_key, [])): e.event_specific_data.duration_ms / 1000
                          for e in result.all_events if e.event_type_value == "STEP_SUCCESS"}
    _report(build, echo, verbose)
    return build


def _step_name(step_key: str, tables: list[str]) -> str:
    if not tables or tables == [step_key.replace("__", ".")]:
        return step_key
    shown = ", ".join(tables[:3]) + (f" and {len(tables) - 3} more" if len(tables) > 3 else "")
    return f"{step_key} ({shown})"


def _instance():
    """DAGSTER_HOME's instance when it is set, so the run shows in the Dagster UI's history (and its
    asset materializations and checks on each asset's page); else a throwaway in-memory one."""
    from dagster import DagsterInstance

    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _report(build: BuildResult, echo: Callable[[str], None], verbose: bool = False) -> None:
    echo(f"  built {len(build.row_counts)} assets (one log line each above, with its row count)")
    if verbose:  # where the time went, longest first: what an operator looks at when a build slows down
        echo(f"  steps by duration ({sum(build.step_seconds.values()):,.1f} s in all):")
        for step, seconds in sorted(build.step_seconds.items(), key=lambda item: -item[1]):
            echo(f"    {seconds:9,.1f} s  {step}")
    failed_checks = [c for c in build.checks if not c[2]]
    n_errors = sum(1 for c in failed_checks if c[3] == "ERROR")
    echo(f"  checks: {len(build.checks) - len(failed_checks)} passed, {n_errors} failed (ERROR, blocking), "
         f"{len(failed_checks) - n_errors} warnings")
    for asset, name, _, severity, metadata in failed_checks:
        details = ", ".join(f"{k}={v}" for k, v in metadata.items() if k != "sample")
        echo(f"  {severity:5} {asset}: {name} — {details}")
        if metadata.get("sample"):
            echo(textwrap.indent(str(metadata["sample"]), " " * 8))
    for failed in build.failed_steps:
        echo(f"  failed step {failed}")
    if build.success and build.published:
        echo(f"build succeeded; published run {build.published['run_id']} (as_of {build.published['as_of']}) "
             f"to {build.published['path']}")
    else:
        echo("build FAILED; the published warehouse is unchanged (still the last good build). "
             "`journeys -v build` shows Dagster's full log with tracebacks.")


def _is_check_failure(event) -> bool:
    """A step failed only because a blocking check failed: already reported with the checks."""
    error = getattr(event.event_specific_data, "error", None)
    return error is not None and error.cls_name == "DagsterAssetCheckFailedError"


def _failure_line(event) -> str:
    """A failed step's cause in one line (a failed blocking check, or the error a step raised)."""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause  # Dagster wraps the user's exception; show the user's
    if error is None:
        return "failed"
    first = next((line for line in error.message.splitlines() if line.strip()), error.cls_name)
    first = re.sub(rf"^[\w.]+\.(?={re.escape(error.cls_name)}\b)", "", first)  # module.path.Error: -> Error:
    return first if first.startswith(error.cls_name) else f"{error.cls_name}: {first}"
