"""Tiny journey-model tables for the metrics tests, written straight into a real DuckDB file.

    touchpoints("p1 j1 2025-01-01 10:00 web page_view",
                "p1 j1 2025-01-01 10:05 web purchase 20 order=o1")

Each line is person, journey, date, time (UTC), channel, event type, then optionally a revenue,
`order=<id>` and `currency=<code>` (a revenue is in EUR, the default reporting currency, unless it
says otherwise). Stages come from the built-in five_stage model, step numbers from time order, and
marts.journeys / marts.persons are aggregated from the lines the way the journey model does;
journey types and personas are given, not classified, so each test states the one it needs.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd

from journeys.transforms import stage_models


def touchpoints(*lines: str) -> pd.DataFrame:
    rows = []
    for number, line in enumerate(lines, start=1):
        person, journey, day, clock, channel, event_type, *rest = line.split()
        revenue = next((float(r) for r in rest if "=" not in r), None)
        order_id = next((r.partition("=")[2] for r in rest if r.startswith("order=")), None)
        currency = next((r.partition("=")[2] for r in rest if r.startswith("currency=")),
                        "EUR" if revenue is not None else None)
        rows.append({
            "person_id": person, "journey_id": journey, "event_id": f"e{number:03d}",
            "occurred_at": dt.datetime.fromisoformat(f"{day}T{clock}"), "channel": channel,
            "event_type": event_type, "revenue": revenue, "order_id": order_id, "currency": currency,
        })
    return pd.DataFrame(rows)


def write_journey_model(path: Path, events: pd.DataFrame, journey_types: dict[str, str] | None = None,
                        personas: dict[str, str] | None = None, stage_model: str = "five_stage") -> None:
    """marts.stage_model, marts.stages, marts.journey_steps, marts.journeys and marts.persons in `path`."""
    model = stage_models.builtin_models()[stage_model]
    types = pd.DataFrame(list((journey_types or {}).items()), columns=["journey_id", "journey_type"])
    persons = pd.DataFrame(list((personas or {}).items()), columns=["person_id", "persona"])
    if "currency" not in events.columns:  # frames made without touchpoints(): revenue in EUR
        events = events.assign(currency=events["revenue"].notna().map({True: "EUR", False: None}))
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.register("model_frame", stage_models.stage_model_frame(model))
        con.register("stages_frame", stage_models.stages_frame(model))
        con.register("events", events)
        con.register("types", types.astype("object"))
        con.register("given_personas", persons.astype("object"))
        con.execute("create or replace table marts.stage_model as select * from model_frame")
        con.execute("create or replace table marts.stages as select * from stages_frame")
        con.execute("""
            create or replace table marts.journey_steps as
            select
                e.journey_id, e.person_id, e.event_id,
                row_number() over (partition by e.journey_id order by e.occurred_at, e.event_id) as step_number,
                e.occurred_at::timestamp as occurred_at, e.channel, e.event_type,
                m.stage, m.stage_rank, coalesce(m.stage_kind, 'unmapped') as stage_kind,
                coalesce(m.is_conversion, false) as is_conversion, 1 as cycle_number,
                epoch(e.occurred_at)
                    - epoch(lag(e.occurred_at) over (partition by e.journey_id order by e.occurred_at, e.event_id))
                    as seconds_since_previous_step,
                e.revenue::double as revenue, e.currency::varchar as currency, e.order_id::varchar as order_id
            from events e
            left join model_frame m on m.event_type = e.event_type
        """)
        con.execute("""
            create or replace table marts.persons as
            select s.person_id, upper(s.person_id) as customer_id, any_value(g.persona) as persona,
                   min(occurred_at) as first_seen_at, max(occurred_at) as last_seen_at, count(*) as n_events
            from marts.journey_steps s
            left join given_personas g on g.person_id = s.person_id
            group by s.person_id
        """)
        con.execute("""
            create or replace table marts.journeys as
            select
                s.journey_id, any_value(s.person_id) as person_id, any_value(p.customer_id) as customer_id,
                any_value(p.persona) as persona, min(s.occurred_at) as started_at, max(s.occurred_at) as ended_at,
                count(*) as n_touchpoints, arg_min(s.channel, s.step_number) as first_channel,
                arg_max(s.channel, s.step_number) as last_channel, max(s.stage_rank) as highest_stage_rank,
                bool_or(s.is_conversion) as is_converted,
                min(s.occurred_at) filter (where s.is_conversion) as first_converted_at,
                count(*) filter (where s.is_conversion) as n_conversions, sum(s.revenue) as revenue,
                coalesce(any_value(t.journey_type), 'linear') as journey_type
            from marts.journey_steps s
            join marts.persons p on p.person_id = s.person_id
            left join types t on t.journey_id = s.journey_id
            group by s.journey_id
        """)
    finally:
        con.close()


def fresh_settings(home: Path):
    """Default settings with the warehouse in `home`, ignoring JOURNEYS_* variables and config files."""
    from journeys.settings import load_settings

    return load_settings(env={"JOURNEYS_CONFIG": ""}, home=home)


def settings_as_of(settings, as_of: str):
    """The test settings with an explicit analysis date ('2025-03-31' means the end of that day)."""
    from journeys.settings import parse_as_of

    return settings.replace(as_of=parse_as_of(as_of))


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


METRICS_TABLES = ("marts.stage_funnel", "marts.conversion", "marts.customer_facts", "marts.customer_spells",
                  "marts.customer_churn_periods", "marts.customer_lifecycle",
                  "marts.churn_monthly", "marts.cohort_retention", "intermediate.int_clv_predictions",
                  "marts.clv_model_params", "marts.customer_value")
"""The metrics marts (and the CLV fit's predictions), read from the journey model's marts."""


def build_marts(settings, events: pd.DataFrame, as_of: str, journey_types: dict[str, str] | None = None,
                personas: dict[str, str] | None = None):
    """Writes the journey-model tables into the settings' warehouse, runs build_metrics as of `as_of`,
    and returns a connection to the result (closed by the caller)."""
    from journeys.transforms import build_plan

    settings = settings_as_of(settings, as_of)
    settings.home.mkdir(parents=True, exist_ok=True)
    write_journey_model(settings.warehouse_path, events, journey_types, personas)
    con = duckdb.connect(str(settings.warehouse_path))
    build_plan.build(con, settings, METRICS_TABLES)
    return con
