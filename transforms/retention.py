"""Contractual retention per plan: subscriptions from the journey steps, the sBG model fitted on
their renewal periods (transforms/retention_sbg.py), and what it says of each active subscriber.

A subscription is a subscription_start of a person and plan (the event's product_id) and the
renewals and cancellation of that plan that follow it, up to the next start. Its payments are
the start and each renewal. The plan's period is the median time between consecutive payments of
its subscriptions (30 days for a monthly plan, whatever the calendar does). At as_of a
subscription is:
- cancelled: a subscription_cancelled after its last payment; it was lost in period n + 1,
  n being its renewals;
- lapsed: no payment for more than a period and subscription_lapse_grace_share of one since
  the last (a silent churner); also lost in period n + 1;
- active otherwise: it has completed n periods and is right-censored there.

Plans with fewer than retention_min_subscribers subscriptions are not fitted: their rows say
so and carry no parameters.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pandas as pd

from journeys.settings import Settings
from journeys.transforms import retention_sbg as sbg
from journeys.transforms import tables
from journeys.transforms.params import resolve_as_of

log = logging.getLogger(__name__)
PARAMS = "marts.retention_model_params"
SUBSCRIBER_VALUE = "marts.subscriber_value"
PROJECTION = "marts.retention_projection"
TABLES = (PARAMS, SUBSCRIBER_VALUE, PROJECTION)
DAYS_PER_MONTH = 365.25 / 12
HOMOGENEOUS_ABOVE = 1e4
"""γ + δ above which the Beta is a spike: every subscriber has the same churn probability."""
BOUNDARY_BELOW = 1e-3
"""γ + δ below which the fit ran into the edge where everyone's churn is 0 or 1: not an estimate."""

SUBSCRIPTION_STEPS = "event_type in ('subscription_start', 'subscription_renewed', 'subscription_cancelled')"
"""The journey steps retention reads (python_steps.PythonStep.reads_only)."""

SUBSCRIPTIONS_SQL = f"""
with subscription_events as (
    select person_id, product_id, event_type, occurred_at, event_id, revenue, currency,
           event_type in ('subscription_start', 'subscription_renewed') as is_payment,
           -- at one instant: a cancellation ends what came before, then a start begins anew
           case event_type when 'subscription_cancelled' then 0 when 'subscription_start' then 1 else 2 end as tie_order
    from marts.journey_steps
    where {SUBSCRIPTION_STEPS}
      and person_id is not null and occurred_at <= $as_of
),

-- An event without a product_id (cancellations often carry none) belongs to the person's latest plan started.
events as (
    select *,
           coalesce(product_id, last_value(case when event_type = 'subscription_start' then product_id end ignore nulls)
               over (partition by person_id order by occurred_at, tie_order, event_id
                     rows between unbounded preceding and current row)) as plan
    from subscription_events
),

numbered as (
    select *,
           sum(case when event_type = 'subscription_start' then 1 else 0 end) over (
               partition by person_id, plan
               order by occurred_at, tie_order, event_id
               rows between unbounded preceding and current row) as subscription_number
    from events
    where plan is not null
),

-- Payments at one instant are one payment (a redelivered or doubled renewal must not make a period of 0 s).
payments as (
    select person_id, plan, subscription_number, occurred_at,
           epoch(occurred_at) - epoch(lag(occurred_at) over (
               partition by person_id, plan, subscription_number order by occurred_at)) as seconds_since_payment
    from (select distinct person_id, plan, subscription_number, occurred_at from numbered
          where is_payment and subscription_number > 0)
)

select
    numbered.person_id,
    numbered.plan,
    numbered.subscription_number,
    min(numbered.occurred_at) filter (where numbered.event_type = 'subscription_start') as started_at,
    count(distinct numbered.occurred_at) filter (where numbered.event_type = 'subscription_renewed'
                                                 and numbered.occurred_at > numbered_start.started_at) as renewals_made,
    max(numbered.occurred_at) filter (where numbered.is_payment) as last_paid_at,
    max(numbered.occurred_at) filter (where numbered.event_type = 'subscription_cancelled') as cancelled_at,
    arg_max(numbered.revenue, numbered.occurred_at) filter (where numbered.is_payment) as last_payment,
    arg_max(numbered.currency, numbered.occurred_at) filter (where numbered.is_payment) as currency,
    (select list(seconds_since_payment) from payments
     where payments.person_id = numbered.person_id and payments.plan = numbered.plan
       and payments.subscription_number = numbered.subscription_number
       and seconds_since_payment is not null) as payment_gaps_s
from numbered
join (select person_id, plan, subscription_number, min(occurred_at) as started_at from numbered
      where event_type = 'subscription_start' group by all) as numbered_start
    using (person_id, plan, subscription_number)
where numbered.subscription_number > 0
group by numbered.person_id, numbered.plan, numbered.subscription_number
"""
"""One row per subscription, with its payments' gaps (for the plan's period)."""

PARAMS_DOC = """One row per parameter of the sBG retention model (Fader & Hardie 2007) fitted per plan on the
subscriptions' renewal periods (transforms/retention.py).
columns:
  model: sbg
  segment: the plan (the subscription events' product_id)
  parameter: gamma or delta, of the Beta distribution of the subscribers' cancel probability per period
  value: the parameter's maximum-likelihood estimate; NULL when the plan was not fitted (see status)
  period_days: the plan's renewal period: the median days between consecutive payments of its subscriptions
  log_likelihood: of the fit
  n_subscribers: subscriptions the fit saw (cancelled, lapsed and active)
  status: fitted, or why not
  as_of: the analysis date of the build
"""

SUBSCRIBER_VALUE_DOC = """One row per active subscription at as_of, with what the plan's sBG fit expects of it.
columns:
  person_id: the subscriber
  plan: the subscription's plan (product_id)
  started_at: its subscription_start
  renewals_made: renewals since the start; it is in period renewals_made + 1
  last_paid_at: its last payment (start or renewal)
  period_days: the plan's renewal period
  renewal_probability: probability of renewing at the end of this period, given the renewals made
  expected_renewals_horizon: expected renewals within clv_horizon_months (undiscounted)
  derl: discounted expected residual lifetime: the expected future payments, the next at 1, later ones discounted
  payment: the subscription's last payment, in the reporting currency
  residual_value: derl × payment: the subscription's expected future revenue, discounted
  currency: the reporting currency
"""

PROJECTION_DOC = """One row per plan and period of tenure: the share of a new subscription still active after that many
periods, as observed (Kaplan-Meier, NULL beyond the data) and as the plan's sBG fit projects it.
columns:
  plan: the plan (product_id)
  period: periods completed (0 = the start)
  period_days: the plan's renewal period
  observed_survival: Kaplan-Meier estimate (active subscriptions counted while observed); NULL past the longest tenure
  projected_survival: S(period) of the sBG fit; NULL when the plan was not fitted
  n_at_risk: subscriptions known to have completed this many periods
  is_projection: the period is past the longest tenure observed
"""


def build_retention(con: duckdb.DuckDBPyConnection, settings: Settings) -> dict[str, int]:
    as_of = resolve_as_of(con, settings)
    subscriptions = con.execute(SUBSCRIPTIONS_SQL, {"as_of": as_of}).df()
    params, values, projections = [], [], []
    for plan, group in subscriptions.groupby("plan", sort=True):
        fitted = _plan(plan, group, as_of, settings)
        params.append(fitted[0])
        values.append(fitted[1])
        projections.append(fitted[2])
    frames = {PARAMS: (pd.concat(params) if params else _empty_params(), PARAMS_DOC),
              SUBSCRIBER_VALUE: (pd.concat(values) if values else _empty_values(), SUBSCRIBER_VALUE_DOC),
              PROJECTION: (pd.concat(projections) if projections else _empty_projection(), PROJECTION_DOC)}
    rows = {}
    for table, (frame, doc) in frames.items():
        frame = frame.assign(as_of=as_of) if table == PARAMS else frame
        with tables.registered(con, "_retention", frame):
            rows[table] = tables.replace_table(con, table, _SELECT[table], None, tables.parse_doc(doc))
    return rows


def _period_days(group: pd.DataFrame) -> float | None:
    gaps = [gap for row in group["payment_gaps_s"] if isinstance(row, (list, tuple, np.ndarray)) for gap in row
            if gap > 0]
    return float(np.median(gaps)) / 86_400 if gaps else None


def _plan(plan: str, group: pd.DataFrame, as_of, settings: Settings):
    period_days = _period_days(group)
    n = len(group)
    renewals = group["renewals_made"].to_numpy(dtype=int)
    if period_days is None:  # the active ones are still listed, with no prediction
        active = group[group["cancelled_at"].isna() | (group["cancelled_at"] < group["last_paid_at"])]
        return (_params_rows(plan, None, None, n, "not fitted: no renewals yet, so no period"),
                _values(active, plan, None, None, 0, 0.0), _empty_projection())
    overdue = (pd.Timestamp(as_of) - group["last_paid_at"]).dt.total_seconds() / 86_400
    cancelled = group["cancelled_at"].notna() & (group["cancelled_at"] >= group["last_paid_at"])
    lapsed = ~cancelled & (overdue > period_days * (1 + settings.subscription_lapse_grace_share))
    gone = (cancelled | lapsed).to_numpy()
    longest = int(renewals.max()) + 1
    lost = np.bincount(renewals[gone] + 1, minlength=longest + 1)[1:]  # lost in period renewals + 1
    active = np.bincount(renewals[~gone], minlength=longest + 1)  # censored after `renewals` periods
    horizon = max(1, round(settings.clv_horizon_months * DAYS_PER_MONTH / period_days))
    discount = (1 + settings.clv_discount_rate_annual) ** (period_days / 365.25) - 1
    periods = np.arange(0, longest + horizon + 1)
    observed = _kaplan_meier(lost, active, len(periods))
    fit = None
    if n < settings.retention_min_subscribers:
        status = f"not fitted: {n} subscriptions (< retention_min_subscribers {settings.retention_min_subscribers})"
    elif lost.sum() == 0:
        status = "not fitted: no subscription was lost yet, so the data say nothing of churn"
    elif lost[1:].sum() + active[2:].sum() == 0:
        status = ("not fitted: only the first period is observed, which fixes the first-period churn but not "
                  "its spread across subscribers")
    else:
        fit = sbg.fit(lost, active)
        status = "fitted" if fit.converged else "fitted (the optimiser did not report convergence)"
        if fit.gamma + fit.delta < BOUNDARY_BELOW or (sbg.on_boundary(fit) and fit.gamma + fit.delta <= HOMOGENEOUS_ABOVE):
            status = (f"not fitted: the likelihood peaks at the edge (gamma {fit.gamma:.3g}, delta {fit.delta:.3g}), "
                      "so the data do not pin the churn distribution down")
            fit = None
        elif fit.gamma + fit.delta > HOMOGENEOUS_ABOVE:
            status += (f"; gamma + delta = {fit.gamma + fit.delta:.3g}: the data show no spread in the churn "
                       f"probability, a constant {fit.mean_churn_probability:.3g} per period for every subscriber")
        log.info("retention %s: sBG gamma %.3f, delta %.3f on %d subscriptions, period %.1f days", plan, fit.gamma,
                 fit.delta, n, period_days)
    projection = pd.DataFrame({
        "plan": plan, "period": periods, "period_days": period_days, "observed_survival": observed[0],
        "projected_survival": sbg.survival(fit.gamma, fit.delta, periods) if fit else np.nan,
        "n_at_risk": observed[1], "is_projection": periods > longest})
    return (_params_rows(plan, fit, period_days, n, status), _values(group[~gone], plan, fit, period_days, horizon,
                                                                        discount), projection)


def _kaplan_meier(lost: np.ndarray, active: np.ndarray, n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """Observed survival after t periods (t = 0..n_periods - 1; NaN past the longest tenure) and the
    subscriptions known to have completed t periods. At risk in period t: all, less those lost
    before it and those whose observation ended (still active) after fewer than t periods."""
    total = lost.sum() + active.sum()
    survival, reached = np.full(n_periods, np.nan), np.zeros(n_periods, dtype=int)
    share = 1.0
    for t in range(min(n_periods, len(lost) + 1)):
        if t > 0:
            at_risk = total - lost[:t - 1].sum() - active[:t].sum()
            if at_risk == 0:  # nobody was observed this long
                break
            share *= 1 - lost[t - 1] / at_risk
        survival[t] = share
        reached[t] = total - lost[:t].sum() - active[:t].sum()
    return survival, reached


def _params_rows(plan: str, fit, period_days, n: int, status: str) -> pd.DataFrame:
    if fit is None:
        return pd.DataFrame({"segment": plan, "parameter": ["gamma", "delta"], "value": np.nan,
                             "period_days": period_days, "log_likelihood": np.nan, "n_subscribers": n, "status": status})
    return pd.DataFrame({"segment": plan, "parameter": ["gamma", "delta"], "value": [fit.gamma, fit.delta],
                         "period_days": period_days, "log_likelihood": fit.log_likelihood, "n_subscribers": n,
                         "status": status})


def _values(active: pd.DataFrame, plan: str, fit, period_days: float | None, horizon: int,
            discount: float) -> pd.DataFrame:
    renewals = active["renewals_made"].to_numpy(dtype=float)
    known = fit is not None and len(active)
    derl = sbg.derl(fit.gamma, fit.delta, renewals, discount) if known else np.full(len(active), np.nan)
    return pd.DataFrame({
        "person_id": active["person_id"], "plan": plan, "started_at": active["started_at"],
        "renewals_made": active["renewals_made"], "last_paid_at": active["last_paid_at"], "period_days": period_days,
        "renewal_probability": sbg.renewal_probability(fit.gamma, fit.delta, renewals) if known else np.nan,
        "expected_renewals_horizon": (sbg.expected_renewals_within(fit.gamma, fit.delta, renewals, horizon)
                                      if known else np.nan),
        "derl": derl, "payment": active["last_payment"], "residual_value": derl * active["last_payment"].to_numpy(),
        "currency": active["currency"]})


def _empty_params() -> pd.DataFrame:
    return _params_rows("", None, None, 0, "").iloc[0:0]


def _empty_values() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("person_id", "object"), ("plan", "object"), ("started_at", "datetime64[us]"), ("renewals_made", "int64"),
        ("last_paid_at", "datetime64[us]"), ("period_days", "float64"), ("renewal_probability", "float64"),
        ("expected_renewals_horizon", "float64"), ("derl", "float64"), ("payment", "float64"),
        ("residual_value", "float64"), ("currency", "object"))})


def _empty_projection() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in (
        ("plan", "object"), ("period", "int64"), ("period_days", "float64"), ("observed_survival", "float64"),
        ("projected_survival", "float64"), ("n_at_risk", "int64"), ("is_projection", "bool"))})


_SELECT = {
    PARAMS: """select 'sbg' as model, segment::varchar as segment, parameter::varchar as parameter,
                      nullif(value, 'NaN'::double) as value,
                      period_days::double as period_days, nullif(log_likelihood, 'NaN'::double) as log_likelihood,
                      n_subscribers::bigint as n_subscribers, status::varchar as status, as_of::timestamp as as_of
               from _retention""",
    SUBSCRIBER_VALUE: """select person_id::varchar as person_id, plan::varchar as plan, started_at::timestamp as started_at,
                               renewals_made::bigint as renewals_made, last_paid_at::timestamp as last_paid_at,
                               period_days::double as period_days,
                               nullif(renewal_probability, 'NaN'::double) as renewal_probability,
                               nullif(expected_renewals_horizon, 'NaN'::double) as expected_renewals_horizon,
                               nullif(derl, 'NaN'::double) as derl,
                               payment::double as payment, nullif(residual_value, 'NaN'::double) as residual_value,
                               currency::varchar as currency
                        from _retention""",
    PROJECTION: """select plan::varchar as plan, period::bigint as period, period_days::double as period_days,
                          nullif(observed_survival, 'NaN'::double) as observed_survival,
                          nullif(projected_survival, 'NaN'::double) as projected_survival,
                          n_at_risk::bigint as n_at_risk, is_projection::boolean as is_projection
                   from _retention""",
}
