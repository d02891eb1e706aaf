"""marts.attribution: which channels and campaigns earn the conversions, under six models.

Grain: one row per model, dimension ('channel' or 'campaign') and dimension value.

Which touchpoints count, the same rule for every model: a journey's touchpoints *before* its
first conversion that carry a value of the dimension. The conversion event itself is never a
touch (a purchase carries no campaign, so counting it sent nearly all last-touch campaign
credit to '(none)'), and touches after the first conversion (repeat purchases, support) earn
nothing. For the campaign dimension only touches with a campaign count: direct and organic
contacts are skipped, not credited. A journey with no counted touch at all has the one
pseudo-touch '(none)': a converting one credits '(none)' with its whole conversion (a walk-in
purchase in the channel dimension; a journey no campaign reached in the campaign dimension), and
in the Markov chain a non-converting one is the path (none) > null, so '(none)' converts at its
observed rate. Each converting journey is one conversion worth the revenue of that first
conversion.

These are ChannelAttribution's path definitions: first, last and linear touch equal its
heuristic_models, and the Markov removal effects its markov_model's (tests/reference/). Where we
differ: its Markov chain collapses repeated consecutive values and we keep them as self-loops,
which changes no absorption probability (linear counts repeats in both); its Markov results are a
Monte Carlo estimate, ours exact, from the absorbing chain's fundamental matrix solved with numpy;
our Markov revenue is the conversion share of the revenue, not a value-weighted removal effect;
time decay and position based are not in ChannelAttribution. The five rule-based models share
each journey's one conversion among its touches in SQL.

Incremental: the per-journey work (the touches, their windows, each touch's weights and each
person's Markov moves) is kept per person in two intermediate tables that a build replaces for the
persons whose touchpoints changed; the mart is their sum, and the Markov chain is solved on the
summed transition counts. Both sums are exact, so an incremental build equals a full one.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from journeys.transforms import tables

QUALIFIED = "marts.attribution"
NO_CAMPAIGN = "(none)"
"""The one pseudo-touch of a journey with no counted touch in a dimension."""
RULE_MODELS = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
"""The models that share each journey's conversion among its touches by a fixed rule (in SQL)."""
MARKOV = "markov"
MODELS = (*RULE_MODELS, MARKOV)
"""Every attribution model, in the order the table lists them: the one list the quality gates and
the tests read too."""
COLUMNS = ["model", "dimension", "dimension_value", "conversions", "revenue", "currency", "share", "removal_effect"]

DOC = f"""One row per attribution model, dimension and dimension value: the credit a channel or a
campaign earns for converting journeys as of as_of. The touches that count, in every model, are a
journey's touchpoints before its first conversion that carry a value of the dimension: the
conversion event is never a touch, and for campaigns only touches with a campaign count. A journey
with no such touch has the one pseudo-touch '{NO_CAMPAIGN}' (a converting one credits it whole). Each
converting journey is one conversion worth its first conversion's revenue. Models: first_touch and
last_touch (all credit to the first or the last touch before the conversion), linear (equal credit
per touch, repeats included), time_decay (weight 2^(-days before the conversion /
attribution_half_life_days), normalised per journey), position_based (40% first, 40% last, 20%
shared by the touches between; one touch 100%, two touches 50/50) and markov (first-order absorbing
Markov chain over all journeys' touch paths, converting or not, with states start, each dimension
value, conversion and null; the removal effect of a value is 1 - P(conversion without it) /
P(conversion), and credit is the removal effects normalised to sum to 1). first_touch, last_touch,
linear and markov agree with ChannelAttribution on the same paths. Within a model and dimension,
share sums to 1 and conversions and revenue sum to the converting journeys and their revenue.
columns:
  model: {", ".join(MODELS[:-1])} or {MODELS[-1]}
  dimension: channel or campaign
  dimension_value: the channel or campaign of the touches; '{NO_CAMPAIGN}' for journeys with no touch before the conversion \
(channel) or no campaign touch (campaign)
  conversions: conversions credited to the value (fractional)
  revenue: first-conversion revenue credited to the value, in the reporting currency
  currency: currency of revenue: the reporting currency (settings reporting_currency); a list like 'EUR,USD' would be a \
figure mixing currencies, which the ERROR gate one_currency_per_figure refuses
  share: conversions / all conversions of the model and dimension
  removal_effect: markov only: 1 - P(conversion with the value removed) / P(conversion); NULL for other models
"""

_TOUCHES = f"""
    journey_steps as (
        select person_id, journey_id, step_number, occurred_at, channel, campaign, is_conversion, revenue, currency
        from marts.journey_steps
        where occurred_at <= $as_of and {{persons}}
    ),

    first_conversions as (
        select journey_id, step_number as conversion_step, occurred_at as converted_at,
               coalesce(revenue, 0) as conversion_revenue, currency as conversion_currency
        from journey_steps
        where is_conversion
        qualify row_number() over (partition by journey_id order by step_number) = 1
    ),

    journey_outcomes as (
        select
            all_journeys.person_id,
            all_journeys.journey_id,
            first_conversions.journey_id is not null as is_converting,
            first_conversions.converted_at,
            first_conversions.conversion_revenue,
            first_conversions.conversion_currency
        from (select distinct person_id, journey_id from journey_steps) as all_journeys
        left join first_conversions using (journey_id)
    ),

    dimension_touches as (
        select journey_steps.journey_id, dim.dimension, dim.dimension_value, journey_steps.step_number,
               journey_steps.occurred_at
        from journey_steps
        left join first_conversions using (journey_id)
        cross join unnest([
            {{'dimension': 'channel', 'dimension_value': journey_steps.channel}},
            {{'dimension': 'campaign', 'dimension_value': journey_steps.campaign}}
        ]) as dimensions(dim)
        where (first_conversions.journey_id is null or journey_steps.step_number < first_conversions.conversion_step)
          and dim.dimension_value is not null
    ),

    -- One row per counted touch of every journey and dimension; a journey with none gets the one
    -- pseudo-touch '{NO_CAMPAIGN}', at its conversion (so its time-decay weight is 1).
    touches as (
        select
            journey_outcomes.person_id,
            journey_outcomes.journey_id,
            dimensions.dimension,
            journey_outcomes.is_converting,
            journey_outcomes.converted_at,
            journey_outcomes.conversion_revenue,
            journey_outcomes.conversion_currency,
            coalesce(dimension_touches.dimension_value, '{NO_CAMPAIGN}') as dimension_value,
            coalesce(dimension_touches.step_number, 0) as step_number,
            coalesce(dimension_touches.occurred_at, journey_outcomes.converted_at) as occurred_at
        from journey_outcomes
        cross join (values ('channel'), ('campaign')) as dimensions(dimension)
        left join dimension_touches
            on dimension_touches.journey_id = journey_outcomes.journey_id
            and dimension_touches.dimension = dimensions.dimension
    )
"""
"""Which touches count (module docstring): shared by the rule-based models and the Markov chain."""

CREDITS = "intermediate.int_attribution_credits"
TRANSITIONS = "intermediate.int_attribution_transitions"
TABLES = (CREDITS, TRANSITIONS, QUALIFIED)
"""What the step writes: the two per-person tables, incremental by person (transforms/incremental.py),
and the mart, summed from them in the same transaction."""

CREDITS_DOC = """One row per counted touch of a converting journey and dimension, with its weight under each
rule-based model: the per-journey half of marts.attribution, which sums them. Incremental: a build
replaces the rows of the persons whose touchpoints changed.
columns:
  person_id: the journey's person
  journey_id: the converting journey
  dimension: channel or campaign
  dimension_value: the touch's channel or campaign; '(none)' for a journey with no counted touch
  conversion_revenue: revenue of the journey's first conversion, in the reporting currency
  conversion_currency: its currency
  first_touch: the touch's share of the conversion under first_touch (1 or 0)
  last_touch: under last_touch (1 or 0)
  linear: under linear (1 / touches)
  time_decay: under time_decay (its decay weight, normalised over the journey's touches)
  position_based: under position_based (40/20/40)
"""

TRANSITIONS_DOC = """One row per person, dimension and move of the Markov chain: how often the person's journeys
moved from one state to the next (from_state NULL: the start; to_state NULL: absorbed by absorbed_by).
marts.attribution sums them over every person into the chain's transition counts. Incremental: a
build replaces the rows of the persons whose touchpoints changed.
columns:
  person_id: the person
  dimension: channel or campaign
  from_state: the dimension value moved from; NULL for the start state
  to_state: the dimension value moved to; NULL when the path ends
  absorbed_by: conversion or null when the path ends there; NULL otherwise
  n: how many times the person's journeys made the move
"""

TOUCHES_TABLE = "_attribution_touches"
"""`touches` computed once per build (a temp table) for the persons rebuilt, for the two per-person
tables: each would otherwise read and window their journey steps again."""

TOUCHES_TABLE_SQL = f"create or replace temp table {TOUCHES_TABLE} as\nwith {_TOUCHES}\nselect * from touches"

_FROM_TOUCHES = f"touches as not materialized (select * from {TOUCHES_TABLE})"
"""Not materialized: DuckDB materializes a CTE that a query reads twice (the Markov moves read the
touches twice), and at 100M events the 60M materialized touches ran it out of memory."""

CREDITS_SQL = f"""
with {_FROM_TOUCHES},

positioned as (
    select
        person_id,
        journey_id,
        dimension,
        dimension_value,
        conversion_revenue,
        conversion_currency,
        row_number() over by_path as position,
        count(*) over (partition by dimension, journey_id) as n_touches,
        pow(2.0, -(epoch(converted_at) - epoch(occurred_at)) / 86400.0 / $attribution_half_life_days) as decay
    from touches
    where is_converting
    window by_path as (partition by dimension, journey_id order by step_number)
)

select
    person_id,
    journey_id,
    dimension,
    dimension_value,
    conversion_revenue,
    conversion_currency,
    (position = 1)::double as first_touch,
    (position = n_touches)::double as last_touch,
    1.0 / n_touches as linear,
    decay / sum(decay) over (partition by dimension, journey_id) as time_decay,
    case
        when n_touches = 1 then 1.0
        when n_touches = 2 then 0.5
        when position = 1 or position = n_touches then 0.4
        else 0.2 / (n_touches - 2)
    end as position_based
from positioned
"""

PERSON_TRANSITIONS_SQL = f"""
with {_FROM_TOUCHES},

moves as (
    select
        person_id,
        dimension,
        lag(dimension_value) over by_path as from_state,
        dimension_value as to_state,
        null::varchar as absorbed_by
    from touches
    window by_path as (partition by dimension, journey_id order by step_number)
    union all
    select
        any_value(person_id) as person_id,
        dimension,
        arg_max(dimension_value, step_number) as from_state,
        null::varchar as to_state,
        case when any_value(is_converting) then 'conversion' else 'null' end as absorbed_by
    from touches
    group by dimension, journey_id
)

select person_id, dimension, from_state, to_state, absorbed_by, count(*) as n
from moves
group by all
"""

RULE_BASED_SQL = f"""
with credits as (
    unpivot (select * exclude (person_id, journey_id) from {CREDITS})
    on {", ".join(RULE_MODELS)} into name model value weight
)

select
    model,
    dimension,
    dimension_value,
    sum(weight) as conversions,
    sum(weight * conversion_revenue) as revenue,
    coalesce(string_agg(distinct conversion_currency, ',' order by conversion_currency), $reporting_currency) as currency
from credits
group by all
"""

TRANSITIONS_SQL = f"""
select dimension, from_state, to_state, absorbed_by, sum(n) as n
from {TRANSITIONS}
group by all
"""
"""Transition counts per dimension over every journey's touch path: from_state NULL is the start
state; to_state NULL means the path was absorbed by 'conversion' or 'null' (absorbed_by)."""

TOTALS_SQL = f"""
with converting_journeys as (
    -- every converting journey has at least one channel touch (a pseudo-touch when none counted)
    select journey_id, any_value(conversion_revenue) as conversion_revenue,
           any_value(conversion_currency) as conversion_currency
    from {CREDITS}
    where dimension = 'channel'
    group by journey_id
)

select count(*) as conversions, coalesce(sum(conversion_revenue), 0) as revenue,
       coalesce(string_agg(distinct conversion_currency, ',' order by conversion_currency), $reporting_currency) as currency
from converting_journeys
"""


def conversion_probability(q: np.ndarray, r: np.ndarray, start: int = 0) -> float:
    """P(absorption in conversion | start) for transient-to-transient probabilities q and
    transient-to-conversion probabilities r: solves (I - q) p = r, i.e. p = N r with N the
    fundamental matrix."""
    if len(r) == 0:
        return 0.0
    return float(np.linalg.solve(np.eye(len(r)) - q, r)[start])


def removal_effects(transitions: pd.DataFrame) -> pd.Series:
    """Removal effect of each state from one dimension's transition counts.

    `transitions` has from_state (None = start), to_state (None = absorbed), absorbed_by
    ('conversion' or 'null' when absorbed) and n. Removing a state sends every transition into it
    to null, which is the chain without that state's row and column. Empty when nothing converts.
    """
    values = sorted(set(transitions["from_state"].dropna()) | set(transitions["to_state"].dropna()))
    index = {value: i + 1 for i, value in enumerate(values)}  # 0 is the start state
    size = len(values) + 1
    counts = np.zeros((size, size))
    to_conversion = np.zeros(size)
    out_total = np.zeros(size)
    for row in transitions.itertuples(index=False):
        source = 0 if pd.isna(row.from_state) else index[row.from_state]
        out_total[source] += row.n
        if not pd.isna(row.to_state):
            counts[source, index[row.to_state]] += row.n
        elif row.absorbed_by == "conversion":
            to_conversion[source] += row.n
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.nan_to_num(counts / out_total[:, None])
        r = np.nan_to_num(to_conversion / out_total)
    base = conversion_probability(q, r)
    if base <= 0:
        return pd.Series(dtype=float)
    effects = {}
    for value, i in index.items():
        keep = [j for j in range(size) if j != i]
        without = conversion_probability(q[np.ix_(keep, keep)], r[keep])
        effects[value] = max(0.0, 1.0 - without / base)
    return pd.Series(effects, dtype=float)


def markov_credits(transitions: pd.DataFrame, conversions: float, revenue: float, currency: str) -> pd.DataFrame:
    """Rows of the markov model for every dimension: removal effects normalised to shares."""
    frames = []
    for dimension, group in transitions.groupby("dimension", sort=True):
        effects = removal_effects(group)
        if effects.empty or effects.sum() <= 0:
            continue
        share = effects / effects.sum()
        frames.append(pd.DataFrame({
            "model": MARKOV, "dimension": dimension, "dimension_value": effects.index,
            "conversions": share.to_numpy() * conversions, "revenue": share.to_numpy() * revenue, "currency": currency,
            "share": share.to_numpy(), "removal_effect": effects.to_numpy(),
        }))
    return pd.concat(frames, ignore_index=True) if frames else _empty()


def _empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("conversions", "revenue", "share", "removal_effect")
                                      else "str") for c in COLUMNS})


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> pd.DataFrame:
    return con.execute(sql, tables.bind(sql, params)).df()


def attribution(con: duckdb.DuckDBPyConnection, params: dict) -> pd.DataFrame:
    """Every model's credits (COLUMNS), summed from the per-person tables CREDITS and TRANSITIONS."""
    rules = _query(con, RULE_BASED_SQL, params)
    [(conversions, revenue, currency)] = con.execute(TOTALS_SQL, tables.bind(TOTALS_SQL, params)).fetchall()
    transitions = _query(con, TRANSITIONS_SQL, params)
    if not rules.empty:
        totals = rules.groupby(["model", "dimension"])["conversions"].transform("sum")
        rules["share"] = rules["conversions"] / totals
        rules["removal_effect"] = np.nan
    markov = markov_credits(transitions, float(conversions), float(revenue), currency)
    frames = [f for f in (rules, markov) if not f.empty]
    result = pd.concat([f[COLUMNS] for f in frames], ignore_index=True) if frames else _empty()
    order = {m: i for i, m in enumerate(MODELS)}
    return (result.sort_values(["model", "dimension", "share", "dimension_value"],
                               key=lambda s: s.map(order) if s.name == "model" else s,
                               ascending=[True, True, False, True])
            .reset_index(drop=True))


def build(con: duckdb.DuckDBPyConnection, params: dict, persons: str | None = None) -> dict[str, int]:
    """Rebuild the per-person tables for `persons` (a query of person_ids; every person when None),
    then marts.attribution from them, in one transaction; returns the rows of each table."""
    only = "true" if persons is None else f"person_id in ({persons})"
    touches_sql = TOUCHES_TABLE_SQL.replace("{persons}", only)
    con.execute(touches_sql, tables.bind(touches_sql, params))
    con.execute("begin transaction")
    try:
        con.execute("create schema if not exists intermediate; create schema if not exists marts")
        for table, sql, doc in ((CREDITS, CREDITS_SQL, CREDITS_DOC), (TRANSITIONS, PERSON_TRANSITIONS_SQL, TRANSITIONS_DOC)):
            if persons is None:
                con.execute(f"create or replace table {table} as\n{sql}", tables.bind(sql, params))
                tables.apply_doc(con, table, tables.parse_doc(doc))
            else:
                con.execute(f"delete from {table} where {only}")
                con.execute(f"insert into {table}\n{sql}", tables.bind(sql, params))
        with tables.registered(con, "_attribution", attribution(con, params)):
            con.execute(f"create or replace table {QUALIFIED} as select * from _attribution")
        tables.apply_doc(con, QUALIFIED, tables.parse_doc(DOC))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute(f"drop table if exists {TOUCHES_TABLE}")
    return {table: con.execute(f"select count(*) from {table}").fetchall()[0][0] for table in TABLES}
