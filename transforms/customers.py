"""Customers: who counts as one, when they churn, and what they are worth.

A customer is a person with at least one conversion touchpoint on or before as_of; acquisition is
the first conversion. Churn (an exit touchpoint with no conversion after it, or inactivity longer
than `churn_inactive_days`) is computed once, as a timeline of retained and churned periods
(marts.customer_churn_periods); the lifecycle, monthly churn and cohort retention marts all read
that timeline, so they cannot disagree about who churned when.

This module holds the one Python-built step: predicted CLV, which writes
intermediate.int_clv_predictions (joined to each customer's history by the dbt model
marts.customer_value) and marts.clv_model_params from a single fit. The CLV models are fitted once per persona segment
(marts.persons.persona) and only on non-contractual purchases (`clv_event_types`); subscription
revenue is contractual and stays in the historical value (see transforms/clv.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import pandas as pd

from journeys.settings import Settings
from journeys.transforms import tables
from journeys.transforms.clv import PARAM_COLUMNS, predict_clv_by_segment
from journeys.transforms.params import model_params

log = logging.getLogger(__name__)

CUSTOMER_VALUE = "marts.customer_value"
CLV_MODEL_PARAMS = "marts.clv_model_params"


@dataclass(frozen=True)
class ClvBuild:
    n_customers: int
    """Rows written to intermediate.int_clv_predictions (one per customer the fit saw)."""
    n_params: int
    """Rows written to marts.clv_model_params (0 when no segment's models could be fitted)."""
    status: str
    """Each segment's predict_clv sentence, 'segment: sentence', joined by ' | '."""
    clv_method: str
    """The clv_method values written, comma-separated: bg_nbd_gamma_gamma and/or historical_fallback."""
    segment_status: dict[str, str]
    """predict_clv's sentence per segment (b2b, b2c, all)."""


PARAMS_DOC = """One row per segment and fitted parameter of the CLV models behind marts.customer_value: BG/NBD (r,
alpha, a, b: how often customers buy and how soon they stop) and Gamma-Gamma (p, q, gamma: how much they
spend per purchase day). The models are fitted separately per segment, on the non-contractual purchases
(event types clv_event_types, default purchase) up to as_of: subscription starts and renewals are
contractual revenue, not repeat buying, so they are left out of the fit (they stay in customer_value's
revenue_to_date and historical fallback). A segment with too few repeat buyers, or whose fit fails, has
no rows here, and its customers hold the historical fallback; the comment's last build says why.
columns:
  segment: the customers fitted: a persona from marts.persons (b2c, b2b), or all (no persona split, or persona unknown)
  model: bg_nbd or gamma_gamma
  parameter: parameter name within the model
  value: fitted value; a + b in the millions means one dropout probability a / (a + b) for all
  time_unit: unit of recency and T the BG/NBD fit used (day or week): its rates are per this unit
  log_likelihood: the model's log-likelihood at the fitted parameters
  n_customers: customers the model was fitted on
  as_of: the analysis date the fit is as of
"""

_PREDICTIONS_SELECT = """
select
    customer_id::varchar as customer_id,
    first_purchase_at::timestamp as first_purchase_at,
    n_purchase_days::bigint as n_purchase_days,
    frequency::double as frequency,
    recency::double as recency,
    T::double as T,
    monetary_value::double as monetary_value,
    probability_alive::double as probability_alive,
    expected_transactions_12m::double as expected_transactions_12m,
    expected_transaction_value::double as expected_transaction_value,
    predicted_clv_12m::double as predicted_clv_12m,
    clv_method::varchar as clv_method,
    clv_segment::varchar as clv_segment
from clv_predictions
"""
"""The predictions with their types stated: a fit that saw no customer gives empty pandas columns,
which DuckDB would type NULL (the serving file then saw a changed table, journeys/serving_file.py)."""

_PARAMS_SELECT = """
select
    segment::varchar as segment,
    model::varchar as model,
    parameter::varchar as parameter,
    value::double as value,
    time_unit::varchar as time_unit,
    log_likelihood::double as log_likelihood,
    n_customers::bigint as n_customers,
    as_of::timestamp as as_of
from clv_params
"""

CONVERSION_STEPS = "is_conversion"
"""The journey steps the CLV fit reads (python_steps.PythonStep.reads_only)."""


def conversions_frame(con: duckdb.DuckDBPyConnection, as_of, clv_event_types=("purchase",)) -> pd.DataFrame:
    """predict_clv's transactions: every conversion touchpoint on or before as_of, person_id as customer_id,
    is_contractual for the conversions that are not one of clv_event_types."""
    return con.execute(
        f"""
        select person_id as customer_id, occurred_at, revenue,
               not list_contains($event_types, event_type) as is_contractual
        from marts.journey_steps
        where {CONVERSION_STEPS} and occurred_at <= $as_of and person_id is not null
        """,
        {"as_of": as_of, "event_types": list(clv_event_types)},
    ).df()


def personas(con: duckdb.DuckDBPyConnection) -> pd.Series:
    """Persona by person_id, from marts.persons (NULL when the person's touchpoints never carried one)."""
    frame = con.execute("select person_id, persona from marts.persons").df()
    return frame.set_index("person_id")["persona"]


CLV_PREDICTIONS = "intermediate.int_clv_predictions"
PREDICTIONS_DOC = """One row per customer the CLV fit saw, with its predictions (transforms/clv.py); the
dbt model marts.customer_value joins them to each customer's history."""


def build_clv_fit(con: duckdb.DuckDBPyConnection, settings: Settings) -> ClvBuild:
    """Fit the CLV models per segment; write intermediate.int_clv_predictions (read by the dbt model
    marts.customer_value) and marts.clv_model_params from that one fit."""
    params = model_params(con, settings)
    with tables.memory_left_to_python(con, settings.duckdb_memory_limit):  # pandas holds every conversion
        result = predict_clv_by_segment(
            conversions_frame(con, params["as_of"], params["clv_event_types"]),
            params["as_of"],
            personas(con),
            horizon_months=settings.clv_horizon_months,
            annual_discount_rate=settings.clv_discount_rate_annual,
            time_unit=params["clv_time_unit"],
            min_repeat_customers=int(params["clv_min_repeat_customers"]),
        )
    log.info("CLV: %s", result.status)
    with tables.registered(con, "clv_predictions", result.customers):
        n_customers = tables.replace_table(con, CLV_PREDICTIONS, _PREDICTIONS_SELECT, None, tables.parse_doc(PREDICTIONS_DOC))
    doc = tables.parse_doc(PARAMS_DOC)
    doc = tables.ModelDoc(f"{doc.description} Last build: {result.status}.", doc.columns)
    with tables.registered(con, "clv_params", result.params[["segment", *PARAM_COLUMNS]]):
        n_params = tables.replace_table(con, CLV_MODEL_PARAMS, _PARAMS_SELECT, None, doc)
    methods = sorted(result.customers["clv_method"].unique())
    return ClvBuild(n_customers, n_params, result.status, ", ".join(methods) or "historical_fallback",
                    {segment: r.status for segment, r in result.by_segment.items()})


