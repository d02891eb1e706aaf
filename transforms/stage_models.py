"""Stage models: which stage of the journey each event type belongs to, and of what kind.

A stage model is an ordered list of stages; each stage lists its event types by kind — `main`
(the forward path), `detour` (side paths: reading reviews, asking support) and `exit` (the
customer leaves) — and the model names its conversion event types. Five models are built in (one
YAML file each in `stage_models/`); users add their own in `settings.stage_models_file`, either one
model per file (same shape as the built-ins) or several under `models:`. `settings.stage_model`
picks the active one, which the build materializes so SQL can join it.

Event types a model does not list are kept in the data, marked `unmapped`: they count towards a
journey but not towards stage analytics, and `unmapped_event_types` reports them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import yaml

from journeys.settings import Settings
from journeys.transforms import tables

if TYPE_CHECKING:
    import pandas as pd

BUILTIN_DIR = Path(__file__).resolve().parent / "stage_models"
KINDS = ("main", "detour", "exit")
UNMAPPED = "unmapped"
MAX_STAGES = 63
"""marts.journeys keeps the stages a journey reached as bits of one 64-bit integer."""
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class StageModelError(ValueError):
    """A stage model that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Stage:
    name: str
    main: tuple[str, ...] = ()
    detour: tuple[str, ...] = ()
    exit: tuple[str, ...] = ()


@dataclass(frozen=True)
class StageModel:
    name: str
    stages: tuple[Stage, ...]
    conversions: frozenset[str]
    description: str = ""

    def rows(self) -> list[tuple[str, str, int, str, bool]]:
        """(event_type, stage, stage_rank, stage_kind, is_conversion), in stage order."""
        return [
            (event_type, stage.name, rank, kind, event_type in self.conversions)
            for rank, stage in enumerate(self.stages, start=1)
            for kind in KINDS
            for event_type in getattr(stage, kind)
        ]


def _names(value, where: str, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, list):
        raise StageModelError(f"{where}: '{what}' must be a list of event type names, got {type(value).__name__}")
    names = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise StageModelError(f"{where}: '{what}' holds {item!r}, which is not an event type name")
        # Staging lower-cases and trims event types; a model must compare the same way.
        name = item.strip().lower()
        if not _NAME.match(name):
            raise StageModelError(f"{where}: event type {item!r} must be snake_case letters, digits and '_'")
        names.append(name)
    return tuple(names)


def parse_stage_model(raw, source: str) -> StageModel:
    """Validates one model from its YAML mapping; `source` names the file in error messages."""
    if not isinstance(raw, dict):
        raise StageModelError(f"{source}: a stage model must be a mapping with name, stages and conversions")
    unknown = set(raw) - {"name", "description", "stages", "conversions"}
    if unknown:
        raise StageModelError(f"{source}: unknown key(s) {sorted(unknown)}; expected name, description, stages, conversions")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name.strip()):
        raise StageModelError(f"{source}: 'name' must be a snake_case name, got {name!r}")
    name = name.strip()
    where_model = f"{source}, model '{name}'"
    raw_stages = raw.get("stages")
    if not isinstance(raw_stages, list) or not raw_stages:
        raise StageModelError(f"{where_model}: 'stages' must be a non-empty list, in journey order")
    if len(raw_stages) > MAX_STAGES:
        raise StageModelError(f"{where_model}: {len(raw_stages)} stages; a model has at most {MAX_STAGES}")
    stages: list[Stage] = []
    seen: dict[str, str] = {}
    for number, raw_stage in enumerate(raw_stages, start=1):
        where = f"{where_model}, stage {number}"
        if not isinstance(raw_stage, dict):
            raise StageModelError(f"{where}: expected a mapping with 'stage' and 'main'/'detour'/'exit' lists")
        unknown = set(raw_stage) - {"stage", *KINDS}
        if unknown:
            raise StageModelError(f"{where}: unknown key(s) {sorted(unknown)}; expected stage, main, detour, exit")
        stage_name = raw_stage.get("stage")
        if not isinstance(stage_name, str) or not _NAME.match(stage_name.strip()):
            raise StageModelError(f"{where}: 'stage' must be a snake_case name, got {stage_name!r}")
        stage_name = stage_name.strip()
        where = f"{where_model}, stage '{stage_name}'"
        if any(s.name == stage_name for s in stages):
            raise StageModelError(f"{where_model}: stage '{stage_name}' is listed twice")
        kinds = {kind: _names(raw_stage.get(kind), where, kind) for kind in KINDS}
        if not any(kinds.values()):
            raise StageModelError(f"{where}: lists no event types (give at least one under main, detour or exit)")
        for kind, event_types in kinds.items():
            for event_type in event_types:
                place = f"{stage_name} ({kind})"
                if event_type in seen:
                    raise StageModelError(f"{where_model}: event type '{event_type}' is listed twice: "
                                          f"in {seen[event_type]} and in {place}")
                seen[event_type] = place
        stages.append(Stage(stage_name, **kinds))
    conversions = _names(raw.get("conversions"), where_model, "conversions")
    unknown_conversions = [c for c in conversions if c not in seen]
    if unknown_conversions:
        raise StageModelError(
            f"{where_model}: conversion(s) {unknown_conversions} are not event types of any stage; list them under a stage first"
        )
    description = raw.get("description") or ""
    return StageModel(name, tuple(stages), frozenset(conversions), str(description).strip())


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StageModelError(f"stage models file {path} does not exist") from None
    except yaml.YAMLError as error:
        raise StageModelError(f"{path}: not valid YAML: {error}") from None


def builtin_models() -> dict[str, StageModel]:
    models = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        model = parse_stage_model(_read_yaml(path), str(path))
        models[model.name] = model
    return models


def user_models(path: Path) -> dict[str, StageModel]:
    """The models of a user file: one model (with `stages`) or several under `models:`."""
    raw = _read_yaml(Path(path))
    if isinstance(raw, dict) and "models" in raw:
        if set(raw) != {"models"} or not isinstance(raw["models"], list):
            raise StageModelError(f"{path}: 'models' must be the only key, holding a list of models")
        items = raw["models"]
    else:
        items = [raw]
    models: dict[str, StageModel] = {}
    builtin = builtin_models()
    for number, item in enumerate(items, start=1):
        model = parse_stage_model(item, f"{path}" if len(items) == 1 else f"{path}, models[{number}]")
        if model.name in builtin:
            raise StageModelError(f"{path}: '{model.name}' is a built-in stage model; give yours another name")
        if model.name in models:
            raise StageModelError(f"{path}: model '{model.name}' is defined twice")
        models[model.name] = model
    return models


def available_models(settings: Settings) -> dict[str, StageModel]:
    models = builtin_models()
    if settings.stage_models_file is not None:
        models.update(user_models(settings.stage_models_file))
    return models


def active_model(settings: Settings) -> StageModel:
    """The model `settings.stage_model` names, among the built-ins and the user file's."""
    models = available_models(settings)
    if settings.stage_model not in models:
        if settings.stage_models_file:
            where = f" or in {settings.stage_models_file}"
        else:
            where = " (set stage_models_file to add your own)"
        raise StageModelError(
            f"unknown stage model '{settings.stage_model}': not built in{where}; available: {', '.join(sorted(models))}"
        )
    return models[settings.stage_model]


def stage_model_frame(model: StageModel) -> pd.DataFrame:
    import pandas as pd  # here, not at the top: every command's settings check imports this module

    frame = pd.DataFrame(model.rows(), columns=["event_type", "stage", "stage_rank", "stage_kind", "is_conversion"])
    frame.insert(0, "stage_model", model.name)
    return frame.astype({"stage_rank": "int32", "is_conversion": "bool"})


def stages_frame(model: StageModel) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({
        "stage_model": model.name,
        "stage": [s.name for s in model.stages],
        "stage_rank": pd.array(range(1, len(model.stages) + 1), dtype="int32"),
        "n_event_types": pd.array([len(s.main) + len(s.detour) + len(s.exit) for s in model.stages], dtype="int64"),
    })


def _materialize(con: duckdb.DuckDBPyConnection, qualified: str, frame: pd.DataFrame, doc: str) -> int:
    return tables.replace_table_from_frame(con, qualified, frame, tables.parse_doc(doc))


def build_int_stage_model(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """One row per event type of the active stage model (settings.stage_model): its stage and kind.
    Materialized so SQL can join it; event types not listed here are unmapped.
    columns:
      stage_model: name of the active stage model
      event_type: event type (lower-case, as staged)
      stage: the stage it belongs to
      stage_rank: position of the stage in the model, 1 = first
      stage_kind: main (forward path), detour (side path) or exit (the customer leaves)
      is_conversion: the event type counts as a conversion (a purchase, a subscription, a renewal)
    """
    return _materialize(con, "intermediate.int_stage_model", stage_model_frame(active_model(settings)),
                        build_int_stage_model.__doc__)


def build_int_stages(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """One row per stage of the active stage model, in journey order: names stage ranks in SQL.
    columns:
      stage_model: name of the active stage model
      stage: stage name
      stage_rank: position in the model, 1 = first
      n_event_types: event types the model puts in this stage
    """
    return _materialize(con, "intermediate.int_stages", stages_frame(active_model(settings)), build_int_stages.__doc__)


def unmapped_event_types(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Event types the active model does not know, most frequent first, with their share of all
    stitched touchpoints: what a quality check on the unmapped share reads."""
    return con.sql(
        f"""
        select event_type, count(*) as n_events,
               count(*) / (select count(*) from intermediate.int_touchpoints_stitched) as share_of_events
        from intermediate.int_touchpoints_stitched
        where stage_kind = '{UNMAPPED}'
        group by event_type
        order by n_events desc, event_type
        """
    ).df()


def unmapped_share(con: duckdb.DuckDBPyConnection) -> float:
    """Share of stitched touchpoints whose event type the active model does not map (0 when empty)."""
    share = con.execute(
        f"select avg((stage_kind = '{UNMAPPED}')::double) from intermediate.int_touchpoints_stitched"
    ).fetchall()[0][0]
    return float(share or 0.0)
