"""Tiny hand-made input tables for the CX marts, so each test states its journeys in a few lines.

    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click campaign=spring", "web purchase revenue=20 h=3")
    inputs.touch("s1", "email", "survey_response", h=5, person_id="p1", csat=2)
    inputs.write(con)

A step is "channel event_type key=value ...": h= (hours after the journey start; default the
step's index), d= (days instead), revenue=, campaign=, order=, ticket=, issue=, nps=, csat=, ces=,
event= (the event_id; default "<journey>-<n>"). The input tables take their columns from the
journey model's own SQL headers, so the tests break when a column they rely on is renamed.
"""

from __future__ import annotations

import datetime as dt
import functools

import duckdb
import pandas as pd

T0 = dt.datetime(2025, 1, 1)
CONVERSIONS = {"purchase", "subscription_start", "subscription_renewed"}
EXITS = {"unsubscribe", "subscription_cancelled"}
DETOURS = {"ticket_opened", "support_call", "chat_reply", "ticket_resolved", "survey_response", "review_read", "compare"}
_KEYS = {"revenue": ("revenue", float), "campaign": ("campaign", str), "order": ("order_id", str),
         "ticket": ("ticket_id", str), "issue": ("issue_category", str), "nps": ("nps_score", int),
         "csat": ("csat_score", int), "ces": ("ces_score", int), "persona": ("persona", str)}

_FALLBACK_COLUMNS = {
    "marts.customer_value": ("person_id", "probability_alive", "predicted_clv_12m"),
    "marts.customer_lifecycle": ("person_id", "status"),
    "marts.persons": ("person_id", "persona"),
}
"""Columns the CX marts read from tables whose SQL file may not exist yet."""
_DOUBLES = {"probability_alive", "predicted_clv_12m", "revenue_to_date", "average_order_value", "tenure_days",
            "expected_transactions_12m", "expected_transaction_value"}


def column_type(name: str) -> str:
    if name.endswith("_at"):
        return "timestamp"
    if name.startswith("is_"):
        return "boolean"
    if name in ("channels", "stages_reached"):
        return "varchar[]"
    if name.startswith("n_") or name.endswith("_score") or name in ("step_number", "stage_rank", "highest_stage_rank",
                                                                      "cycle_number"):
        return "integer"
    if name == "revenue" or name.endswith("_s") or name.startswith("seconds"):
        return "double"
    return "varchar"


@functools.cache
def documented_columns() -> dict[str, list[str]]:
    """Every dbt model's documented column names, in their .yml order."""
    from journeys.settings import Settings
    from journeys.transforms import dbt_project

    nodes = dbt_project.manifest(Settings()).nodes.values()
    return {f"{n.schema}.{n.name}": list(n.columns) for n in nodes if n.resource_type == "model"}


def schema(qualified: str) -> dict[str, str]:
    """Column names of an input table, from its dbt model's documented columns."""
    names = documented_columns().get(qualified)
    if names is None:
        names = _FALLBACK_COLUMNS[qualified]
    return {name: "double" if name in _DOUBLES else column_type(name) for name in names}


def at(h: float = 0.0, d: float = 0.0) -> dt.datetime:
    return T0 + dt.timedelta(hours=h, days=d)


def with_settings(settings, **values):
    """settings with `values` set, including CX settings journeys/settings.py does not define."""
    from pydantic import create_model

    extra = {k: (type(v), v) for k, v in values.items() if k not in type(settings).model_fields}
    if not extra:
        return settings.replace(**values)
    cls = create_model("CxTestSettings", __base__=type(settings), **extra)
    return cls(**{**dict(settings), **values})


def _stage_kind(event_type: str) -> str:
    return "exit" if event_type in EXITS else "detour" if event_type in DETOURS else "main"


@functools.cache
def five_stage_steps() -> dict[str, tuple[str, int, str]]:
    """(stage, stage_rank, stage_kind) of each event type the built-in five_stage model lists."""
    from journeys.transforms import stage_models

    frame = stage_models.stage_model_frame(stage_models.builtin_models()["five_stage"])
    return {r.event_type: (r.stage, int(r.stage_rank), r.stage_kind) for r in frame.itertuples()}


class Inputs:
    def __init__(self, five_stage: bool = False) -> None:
        """five_stage: the touchpoints carry the built-in five_stage model's stage, rank and kind (the
        build's default model, so they agree with marts.stages), else a placeholder stage."""
        self.five_stage = five_stage
        self.touchpoints: list[dict] = []
        self.steps: list[dict] = []
        self.journeys: list[dict] = []
        self.customer_value: list[dict] = []
        self.customer_lifecycle: list[dict] = []

    def touch(self, event_id: str, channel: str, event_type: str, h: float = 0.0, d: float = 0.0,
              person_id: str | None = "p1", **fields) -> dict:
        """A stitched touchpoint outside any journey (fields use the table's column names or _KEYS)."""
        row = {"event_id": event_id, "person_id": person_id, "occurred_at": at(h, d), "channel": channel,
               "event_type": event_type, "stage_kind": _stage_kind(event_type),
               "stage": None if event_type == "chat_reply" else "stage",
               "is_conversion": event_type in CONVERSIONS}
        if self.five_stage:
            row["stage"], row["stage_rank"], row["stage_kind"] = five_stage_steps().get(event_type, (None, None, "unmapped"))
        for key, value in fields.items():
            name, cast = _KEYS.get(key, (key, lambda v: v))
            row[name] = cast(value)
        self.touchpoints.append(row)
        return row

    def journey(self, journey_id: str, person_id: str, *steps: str, journey_type: str = "linear",
                persona: str = "b2c", start_h: float = 0.0) -> list[str]:
        """A journey of `steps`; returns their event ids."""
        rows = []
        for number, step in enumerate(steps, start=1):
            channel, event_type, *pairs = step.split()
            options = dict(pair.split("=", 1) for pair in pairs)
            event_id = options.pop("event", f"{journey_id}-{number}")
            h = float(options.pop("h", number - 1)) + start_h
            d = float(options.pop("d", 0.0))
            row = self.touch(event_id, channel, event_type, h=h, d=d, person_id=person_id, persona=persona, **options)
            previous = rows[-1]["occurred_at"] if rows else None
            rows.append({**row, "journey_id": journey_id, "step_number": number,
                         "seconds_since_previous_step": (row["occurred_at"] - previous).total_seconds() if previous else None})
        self.steps.extend(rows)
        converted = [r for r in rows if r["is_conversion"]]
        self.journeys.append({
            "journey_id": journey_id, "person_id": person_id, "persona": persona, "journey_type": journey_type,
            "started_at": min(r["occurred_at"] for r in rows), "ended_at": max(r["occurred_at"] for r in rows),
            "last_stage_kind": rows[-1]["stage_kind"], "n_touchpoints": len(rows),
            "is_converted": bool(converted), "n_conversions": len(converted),
            "first_converted_at": converted[0]["occurred_at"] if converted else None,
            "revenue": sum(r.get("revenue") or 0.0 for r in rows),
        })
        return [r["event_id"] for r in rows]

    def customer(self, person_id: str, probability_alive: float | None, predicted_clv_12m: float | None,
                 status: str = "active", revenue_to_date: float | None = None, persona: str = "b2c"):
        self.customer_value.append({"person_id": person_id, "probability_alive": probability_alive,
                                    "predicted_clv_12m": predicted_clv_12m, "revenue_to_date": revenue_to_date,
                                    "persona": persona})
        self.customer_lifecycle.append({"person_id": person_id, "status": status})

    def persons(self) -> list[dict]:
        """One row per person of the touchpoints, with the persona of their latest touchpoint that has one."""
        latest: dict[str, dict] = {}
        for row in sorted(self.touchpoints, key=lambda r: r["occurred_at"]):
            person = latest.setdefault(row["person_id"], {"person_id": row["person_id"], "persona": None})
            person["persona"] = row.get("persona") or person["persona"]
        return [p for p in latest.values() if p["person_id"] is not None]

    def write(self, con: duckdb.DuckDBPyConnection) -> None:
        for qualified, columns, rows in (
            ("intermediate.int_touchpoints_stitched", schema("intermediate.int_touchpoints_stitched"), self.touchpoints),
            ("marts.journey_steps", schema("marts.journey_steps"), self.steps),
            ("marts.journeys", schema("marts.journeys"), self.journeys),
            ("marts.customer_value", schema("marts.customer_value"), self.customer_value),
            ("marts.customer_lifecycle", schema("marts.customer_lifecycle"), self.customer_lifecycle),
            ("marts.persons", schema("marts.persons"), self.persons()),
        ):
            con.execute(f"create schema if not exists {qualified.split('.')[0]}")
            con.execute(f"create or replace table {qualified} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
            if rows:
                frame = pd.DataFrame([{c: row.get(c) for c in columns} for row in rows])
                con.register("_rows", frame)
                casts = ", ".join(f"cast({c} as {t})" for c, t in columns.items())
                con.execute(f"insert into {qualified} select {casts} from _rows")
                con.unregister("_rows")


AS_OF = at(d=150)
"""The tests' analysis date: 150 days after T0, so journeys of the first weeks are over
(journey_gap_days = 90) unless a test places one near AS_OF."""


CX_TABLES = ("marts.survey_responses", "marts.satisfaction", "marts.support_tickets", "marts.support_sla",
             "marts.path_steps", "marts.path_variants", "marts.step_transitions", "marts.pain_points", "marts.attribution",
             "marts.customer_segments")
"""The customer-experience marts."""


def build_marts(settings, inputs: Inputs, as_of: dt.datetime = AS_OF, only: tuple[str, ...] = (),
                **values) -> duckdb.DuckDBPyConnection:
    """Write `inputs` into a real warehouse file, build the CX marts (those in `only`, else all) and
    open the file read-only. `values` override settings, CX settings included."""
    from journeys import warehouse
    from journeys.transforms import build_plan

    settings = with_settings(settings, as_of=as_of, **values)
    with warehouse.writer(settings) as con:
        inputs.write(con)
        build_plan.build(con, settings, only or CX_TABLES)
    return duckdb.connect(str(settings.warehouse_path), read_only=True)


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params) -> list[dict]:
    """The query's rows as dicts."""
    result = con.execute(sql, list(params) if params else None)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row)) for row in result.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str, *params) -> dict:
    """The query's only row."""
    [row] = rows(con, sql, *params)
    return row
