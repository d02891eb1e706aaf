"""Runs the dbt project in `transforms/` in this process, on the working warehouse file.

In-process (`dbtRunner`), not `dbt` as a subprocess: a subprocess parses the project again on
every call (3-10 s each, several calls per build), while here the project is parsed once per
process and the manifest reused. The caller holds the warehouse's writer (`warehouse.writer`):
dbt-duckdb's connection joins that writer's DuckDB instance, so it shares its memory limit and
threads, and no other process can write meanwhile.

Settings reach the models as dbt vars (`dbt_vars`), rendered by `macros/settings.sql`. A
`custom_models_dir` is linked into a per-home copy of the project as `custom/`, so its models are
parsed, ref() ours and are built into the schema `custom` (macros/generate_schema_name.sql).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import os
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import yaml

from journeys.settings import Settings
from journeys.warehouse import flock

if TYPE_CHECKING:
    from journeys.transforms.incremental import BuildMode

PROJECT_DIR = Path(__file__).resolve().parent
"""The dbt project: dbt_project.yml, profiles.yml, models/, macros/, tests/."""
_LINKED = ("dbt_project.yml", "models", "macros", "tests")
_WAREHOUSE_ENV = "JOURNEYS_DBT_WAREHOUSE_PATH"
_lock = threading.Lock()
_manifests: dict[tuple, object] = {}


class DbtError(RuntimeError):
    """dbt could not parse or build the project; the message names the model file."""


def dbt_dir(warehouse_path: Path) -> Path:
    """dbt's target (compiled SQL, manifest, docs), logs and per-home project, beside the warehouse file."""
    return Path(warehouse_path).resolve().parent / "dbt"


def database_path(con: duckdb.DuckDBPyConnection) -> Path:
    """The file `con` is connected to: dbt builds on that file."""
    return Path(con.execute("select path from duckdb_databases() where database_name = current_database()").fetchall()[0][0])


def project_dir(settings: Settings, warehouse_path: Path | None = None) -> Path:
    """The packaged project, or, with a custom_models_dir, a per-home project of links to it plus
    `custom/` -> the user's folder (dbt writes compiled SQL under its own target folder only)."""
    if settings.custom_models_dir is None:
        return PROJECT_DIR
    custom = Path(settings.custom_models_dir).resolve()
    if not custom.is_dir():
        raise DbtError(f"custom_models_dir {custom} is not a folder")
    root = dbt_dir(warehouse_path or settings.warehouse_path) / "project"
    root.mkdir(parents=True, exist_ok=True)
    for name, target in [*((n, PROJECT_DIR / n) for n in _LINKED), ("custom", custom)]:
        link = root / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    return root


def dbt_vars(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict:
    """Every setting the models may read, as plain values: scalars, lists of strings, as_of (ISO
    text; macros/settings.sql makes it a TIMESTAMP), the exchange rates into the reporting currency
    as (currency, rate) pairs, and the identity settings."""
    from journeys.transforms.identity import identity_params
    from journeys.transforms.params import model_params

    params = {**model_params(con, settings), **identity_params(settings)}
    params["as_of"] = params["as_of"].isoformat(sep=" ")
    params["incremental"] = {}  # run_build adds each incremental model's state (macros/incremental.sql)
    rates = params.pop("currency_rates")
    params["currency_rates"] = [{"currency": c, "rate": float(r)} for c, r in zip(rates["key"], rates["value"])]
    return params


def _common_args(warehouse_path: Path, project: Path) -> list[str]:
    return ["--project-dir", str(project), "--profiles-dir", str(PROJECT_DIR),
            "--target-path", str(dbt_dir(warehouse_path) / "target"), "--log-path", str(dbt_dir(warehouse_path) / "logs")]


@contextlib.contextmanager
def _warehouse_env(warehouse_path: Path) -> Iterator[None]:
    previous = os.environ.get(_WAREHOUSE_ENV)
    os.environ[_WAREHOUSE_ENV] = str(warehouse_path)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_WAREHOUSE_ENV, None)
        else:
            os.environ[_WAREHOUSE_ENV] = previous


def project_files(project: Path) -> list[Path]:
    """Every file of the project dbt reads: models, macros, tests, custom models (through the
    per-home project's links: rglob does not follow them) and dbt_project.yml."""
    files = sorted(p for name in ("models", "macros", "tests", "custom") for p in (project / name).resolve().rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    return [*files, project / "dbt_project.yml"]


def _fingerprint(project: Path) -> tuple:
    """What a parse depends on: every project file's path, size and mtime."""
    return (str(project), tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in project_files(project)))


def _parse_dir(project: Path) -> Path:
    """Where a project's parse is kept between processes (dbt's partial parsing): per project, not
    per warehouse, so every warehouse and every test reuses it."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "journeys" / "dbt-parse" / hashlib.sha1(str(project).encode()).hexdigest()[:16]


def manifest(settings: Settings, warehouse_path: Path | None = None):
    """The parsed project (dbt's Manifest), parsed once per process while the files are unchanged."""
    from dbt.cli.main import dbtRunner

    warehouse_path = warehouse_path or settings.warehouse_path
    project = project_dir(settings, warehouse_path)
    key = _fingerprint(project)
    with _lock:
        if key not in _manifests:
            # one process at a time parses into the cache: dbt writes its partial-parse file in
            # place, so a second process could otherwise read it half-written
            with _warehouse_env(warehouse_path), flock(_parse_dir(project) / "parse.lock"):
                result = dbtRunner().invoke(["parse", "--project-dir", str(project), "--profiles-dir", str(PROJECT_DIR),
                                             "--target-path", str(_parse_dir(project)),
                                             "--log-path", str(_parse_dir(project)), "--log-level", "none"])
            if not result.success:
                raise DbtError(_parse_error(settings, result.exception))
            _manifests.clear()
            _manifests[key] = result.result
        return _manifests[key]


def invoke(settings: Settings, args: Sequence[str], variables: dict | None = None,
           callbacks: Sequence[Callable] = (), quiet: bool = True, warehouse_path: Path | None = None):
    """`dbt <args>` on the warehouse file (the working one unless given) with the settings as vars;
    returns dbt's result (`.success`, `.result`). Hold `warehouse.writer(settings)` around it."""
    from dbt.cli.main import dbtRunner

    warehouse_path = warehouse_path or settings.warehouse_path
    project = project_dir(settings, warehouse_path)
    parsed = manifest(settings, warehouse_path)
    extra = ["--log-level", "none"] if quiet else []  # errors come back in the result, reported by the caller
    if variables is not None:
        extra += ["--vars", yaml.safe_dump(variables, default_flow_style=True, width=1 << 20)]
    with _warehouse_env(warehouse_path):
        return dbtRunner(manifest=parsed, callbacks=list(callbacks)).invoke(
            [*args, *_common_args(warehouse_path, project), *extra])


def user_path(settings: Settings, original_file_path: str) -> Path:
    """Where a model file really is: ours under transforms/, a custom one in custom_models_dir."""
    if original_file_path.startswith("custom/") and settings.custom_models_dir is not None:
        return Path(settings.custom_models_dir).resolve() / original_file_path.removeprefix("custom/")
    return PROJECT_DIR / original_file_path


def failures(settings: Settings, result) -> list[str]:
    """One line per failed model or test of a dbt result: the file, then dbt's message."""
    lines = []
    if result.exception is not None:
        lines.append(_parse_error(settings, result.exception))
    for node_result in getattr(result.result, "results", None) or []:
        status = str(node_result.status).lower()
        if status.endswith(("error", "fail", "runtime error")):
            node = node_result.node
            where = user_path(settings, node.original_file_path) if node.resource_type == "model" else node.name
            message = _real_paths(settings, " ".join(str(node_result.message or status).split()))
            lines.append(f"{node.resource_type} {node.name} ({where}): {message}")
    return lines


def _real_paths(settings: Settings, text: str) -> str:
    """dbt names a custom model by our link to it (custom/x.sql): name the user's own file."""
    if settings.custom_models_dir is None:
        return text
    real = str(Path(settings.custom_models_dir).resolve())
    return re.sub(r"(?:\S*/dbt/project/|(?<![\w/.-]))custom/", lambda _: real + "/", text)


def _parse_error(settings: Settings, exception) -> str:
    return "dbt could not parse the project: " + _real_paths(settings, " ".join(str(exception).split()))


@dataclasses.dataclass(frozen=True)
class ModelRun:
    qualified: str
    """`schema.table` the model built."""
    rows: int


@dataclasses.dataclass(frozen=True)
class DbtBuild:
    built: list[ModelRun]
    """The models that succeeded, in dbt's order."""
    failures: list[str]
    """One line per failed model or test, naming its file (see `failures`)."""
    modes: tuple[BuildMode, ...] = ()
    """How the selection's incremental models were built, and why."""

    def raise_for_failures(self) -> None:
        if self.failures:
            raise DbtError("; ".join(self.failures))


def run_build(con: duckdb.DuckDBPyConnection, settings: Settings, select: Sequence[str],
              callbacks: Sequence[Callable] = ()) -> DbtBuild:
    """`dbt build --select <select>` (the models and their data tests) under the caller's writer
    `con`. A failed model leaves its previous table in place and skips what reads it. Unit tests
    are not run here: they check the SQL, not the data, so they run with the test suite
    (tests/test_dbt_unit_tests.py) instead of on every build.

    The selection's incremental models add to what they absorbed when they all may; when one of
    them may not, the call rebuilds them all (`--full-refresh` is per call), and says why."""
    from journeys.transforms import incremental

    if not select:
        return DbtBuild([], [])
    variables = dbt_vars(con, settings)
    args = ["build", "--select", *select, "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test",
            "--no-write-json", "--no-populate-cache"]
    models = [m for m in incremental.INCREMENTAL_MODELS if m.split(".")[1] in select]
    modes: list[BuildMode] = []
    if models:
        fingerprint = incremental_fingerprint(con, settings, variables)
        raw_rows = incremental.raw_rows_now(con)  # what the models read; rows appended later wait for the next build
        modes = [incremental.decide(con, m, fingerprint, _as_of(variables)) for m in models]
        full = next((mode for mode in modes if mode.full), None)
        if full is not None:
            modes = [mode if mode.full else dataclasses.replace(mode, full=True, reason=f"built with {full.model}")
                     for mode in modes]
            args.append("--full-refresh")
        variables["incremental"] = {mode.model: mode.var() for mode in modes if not mode.full}
    result = invoke(settings, args, variables, callbacks, warehouse_path=database_path(con))
    built = []
    for node_result in getattr(result.result, "results", None) or []:
        node = node_result.node
        if node.resource_type == "model" and str(node_result.status).lower() == "success":
            qualified = f"{node.schema}.{node.alias or node.name}"
            built.append(ModelRun(qualified, con.execute(f"select count(*) from {qualified}").fetchall()[0][0]))
    built_names = {run.qualified for run in built}
    # a model's producer may have been built in this same call, after the mode was decided
    modes = [incremental.recount_changes(con, mode) for mode in modes]
    for mode in modes:
        if mode.model in built_names:
            incremental.record(con, mode, fingerprint, _as_of(variables), raw_rows)
    problems = [] if result.success else (failures(settings, result) or ["dbt build failed"])
    return DbtBuild(built, problems, tuple(modes))


def _as_of(variables: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(variables["as_of"])


def incremental_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings, variables: dict) -> str:
    """What an incremental model's rows depend on besides its input: the settings (`variables`),
    the active stage model's definition, and the text of every dbt project file and Python transform."""
    from journeys.transforms import incremental, stage_models

    stage_model = stage_models.stage_model_frame(stage_models.active_model(settings)).to_json(orient="records")
    python_files = sorted(p for p in PROJECT_DIR.glob("*.py"))
    return incremental.fingerprint({**variables, "active_stage_model": stage_model},
                                   [*project_files(project_dir(settings, database_path(con))), *python_files])


def decide(con: duckdb.DuckDBPyConnection, settings: Settings, model: str) -> tuple[BuildMode, str, dt.datetime]:
    """How `model` would be built now, with the fingerprint and as_of to record once it is."""
    from journeys.transforms import incremental

    variables = dbt_vars(con, settings)
    fingerprint = incremental_fingerprint(con, settings, variables)
    return incremental.decide(con, model, fingerprint, _as_of(variables)), fingerprint, _as_of(variables)


def build_mode(con: duckdb.DuckDBPyConnection, settings: Settings, model: str | None = None) -> BuildMode:
    """Whether the next build adds to an incremental model (staging's by default) or rebuilds it,
    and why (transforms/incremental.py)."""
    from journeys.transforms.incremental import INCREMENTAL_MODELS

    return decide(con, settings, model or INCREMENTAL_MODELS[0])[0]
