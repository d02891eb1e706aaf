"""Predicted customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much, discounted monthly.

Grain of `ClvResult.customers`: one row per customer with a transaction on or before as_of.
`params`: one row per fitted model parameter.

What is modelled: non-contractual repeat buying. Transactions flagged `is_contractual` (a
subscription's start and renewals: revenue on a schedule the customer signed up for, not a
purchase they chose to come back for) are not fitted: feeding them to BG/NBD would read a
renewal calendar as buying behaviour. They stay in the historical value, and a customer with
contractual revenue only keeps that historical value (clv_method historical_fallback).

Why a fallback instead of an exception: the CLV table feeds dashboards that must refresh on a
young shop or a thin test warehouse too. With fewer than `min_repeat_customers` repeat buyers,
or when either model fails to converge (degenerate data, e.g. every basket the same price),
the models have nothing trustworthy to say, so every customer gets the historical value
instead (revenue of the last `horizon_months`, contractual included), `clv_method` says so,
`status` explains why, and `params` is empty.

Segments (`predict_clv_by_segment`): one Gamma-Gamma across customers whose spend scales differ
by two orders of magnitude (the simulator's B2B deals are ~8,000, its B2C items ~45) fits
neither, and the mixture's heavy tail drives q below 1 (no finite mean spend). So the models are
fitted once per persona, each segment with its own fallback and status.

The horizon defaults to 12 months; the `*_12m` column names keep the spec's names and cover
`horizon_months` when it is set to something else. A month is 365/12 days.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from journeys.transforms import clv_bg_nbd as bg_nbd
from journeys.transforms import clv_gamma_gamma as gamma_gamma
from journeys.transforms.clv_summary import customer_ids, rfm_summary, to_utc, trailing_revenue, unit_days

DAYS_PER_MONTH = 365.0 / 12
CUSTOMER_COLUMNS = [
    "customer_id", "first_purchase_at", "n_purchase_days", "frequency", "recency", "T", "monetary_value",
    "probability_alive", "expected_transactions_12m", "expected_transaction_value", "predicted_clv_12m", "clv_method",
]
PARAM_COLUMNS = ["model", "parameter", "value", "time_unit", "log_likelihood", "n_customers", "as_of"]
MODEL_METHOD = "bg_nbd_gamma_gamma"
FALLBACK_METHOD = "historical_fallback"
SEGMENT_ALL = "all"
"""Segment of customers fitted without a persona split (see `clv_segments`)."""


@dataclass(frozen=True)
class ClvResult:
    customers: pd.DataFrame
    """One row per customer (CUSTOMER_COLUMNS)."""
    params: pd.DataFrame
    """One row per fitted parameter (PARAM_COLUMNS); empty when the fallback was used."""
    status: str
    """One sentence for humans: what was fitted on how many customers, or why nothing was."""
    frequency_monetary_correlation: float
    """Pearson r of frequency and monetary value over repeat buyers; Gamma-Gamma assumes it is near 0."""


def monthly_discount_rate(annual_rate: float) -> float:
    """The monthly rate that compounds to annual_rate over 12 months."""
    return (1.0 + annual_rate) ** (1.0 / 12) - 1.0


def discounted_value(
    cumulative_transactions: np.ndarray, transaction_value: np.ndarray, annual_rate: float
) -> np.ndarray:
    """Sum over months m of (E[Y(m)] - E[Y(m-1)]) * value / (1 + monthly rate)^m.

    cumulative_transactions: customers x months, E[Y(m)] for m = 1..H (E[Y(0)] = 0 is implied).
    Discounting each month's expected purchases, not the 12-month total, credits customers
    who buy soon more than those whose purchases the model expects late in the year.
    """
    cumulative = np.atleast_2d(cumulative_transactions)
    per_month = np.diff(cumulative, axis=1, prepend=0.0)
    factors = (1.0 + monthly_discount_rate(annual_rate)) ** -np.arange(1, cumulative.shape[1] + 1)
    return per_month @ factors * np.asarray(transaction_value, dtype=float)


def frequency_monetary_correlation(summary: pd.DataFrame) -> float:
    """Pearson correlation over repeat buyers; NaN when it is undefined (fewer than 2, or no spread)."""
    repeat = summary[summary["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    if len(repeat) < 2 or np.ptp(x) == 0 or np.ptp(m) == 0:
        return float("nan")
    return float(np.corrcoef(x, m)[0, 1])


def predict_clv(
    transactions: pd.DataFrame,
    as_of: dt.datetime,
    horizon_months: int = 12,
    annual_discount_rate: float = 0.10,
    time_unit: str = "week",
    min_repeat_customers: int = 30,
) -> ClvResult:
    """Fits BG/NBD and Gamma-Gamma on the repeat buying up to as_of and predicts each customer's next horizon_months.

    transactions: customer_id, occurred_at, revenue, and optionally is_contractual (rows where it
    is True count in the historical value only; see the module docstring).
    """
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    summary = rfm_summary(_repeat_buying(transactions), as_of, time_unit)
    contract_only = customer_ids(transactions, as_of).difference(summary["customer_id"], sort=False)
    correlation = frequency_monetary_correlation(summary)
    if summary.empty and contract_only.empty:
        empty = _with_predictions(summary, np.nan, np.nan, np.nan, np.nan, FALLBACK_METHOD)
        return ClvResult(empty, _no_params(), "no transactions on or before as_of: nothing to predict", correlation)

    n_repeat = int((summary["frequency"] > 0).sum())
    historical = trailing_revenue(transactions, as_of, horizon_months * DAYS_PER_MONTH)
    contract_rows = _historical_value(_contract_only_rows(contract_only), historical)

    def fallback(why: str) -> ClvResult:
        rows = _concat(_historical_value(summary, historical), contract_rows)
        status = (
            f"{why}: no model fitted; predicted CLV falls back to historical value (revenue of the last "
            f"{horizon_months * DAYS_PER_MONTH:.0f} days) for all {len(rows):,} customers"
        )
        return ClvResult(rows, _no_params(), status, correlation)

    if n_repeat < min_repeat_customers:
        return fallback(f"only {_buyers(n_repeat)} (< {min_repeat_customers})")

    x, t_x, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    (ux, ut_x, uT), weights, inverse = bg_nbd.collapse(x, t_x, T)
    bg_fit = bg_nbd.fit_bg_nbd(ux, ut_x, uT, weights)
    if not bg_fit.converged:
        return fallback(f"BG/NBD fit failed ({bg_fit.message})")

    mbar = summary["monetary_value"].to_numpy(float)
    spenders = (x > 0) & (mbar > 0)
    gg_fit = gamma_gamma.fit_gamma_gamma(x[spenders], mbar[spenders])
    if gg_fit.n_customers < min_repeat_customers:
        return fallback(f"only {_buyers(gg_fit.n_customers)} with positive spend (< {min_repeat_customers})")
    if not gg_fit.converged:
        return fallback(f"Gamma-Gamma fit failed ({gg_fit.message})")

    # Predict once per distinct (x, t_x, T): customers sharing them share every BG/NBD prediction.
    months_in_unit = np.arange(1, horizon_months + 1) * DAYS_PER_MONTH / unit_days(time_unit)
    cumulative = bg_nbd.expected_transactions(
        bg_fit.params, months_in_unit[None, :], ux[:, None], ut_x[:, None], uT[:, None]
    )
    if not np.isfinite(cumulative).all():
        return fallback("BG/NBD predictions are not finite at the fitted parameters")
    alive = bg_nbd.probability_alive(bg_fit.params, ux, ut_x, uT)[inverse]
    value = gamma_gamma.expected_transaction_value(gg_fit.params, x, mbar)
    clv = discounted_value(cumulative[inverse], value, annual_discount_rate)
    customers = _with_predictions(summary, alive, cumulative[inverse, -1], value, clv, MODEL_METHOD)

    status = (
        f"fitted BG/NBD on {bg_fit.n_customers:,} customers ({_buyers(n_repeat)}) and Gamma-Gamma on "
        f"{_buyers(gg_fit.n_customers)} with positive spend (time unit {time_unit}); {horizon_months}-month CLV "
        f"discounted at {annual_discount_rate * 100:g}%/year; frequency-monetary correlation {correlation:.2f}"
    )
    if abs(correlation) >= 0.3:
        status += " (Gamma-Gamma assumes independence: treat expected spend with care)"
    if bg_fit.message != "converged":
        status += f"; BG/NBD {bg_fit.message}"
    if len(contract_only):
        customers = _concat(customers, contract_rows)
        status += (f"; {len(contract_only):,} customer{'' if len(contract_only) == 1 else 's'} with contractual "
                   "revenue only keep their historical value")
    return ClvResult(customers, _params_frame(bg_fit, gg_fit, time_unit, as_of), status, correlation)


def _repeat_buying(transactions: pd.DataFrame) -> pd.DataFrame:
    """The transactions the models describe: all but the is_contractual ones."""
    if "is_contractual" not in transactions.columns:
        return transactions
    return transactions[~transactions["is_contractual"].fillna(False).astype(bool)]


def _contract_only_rows(ids: pd.Index) -> pd.DataFrame:
    """Summary rows of customers without a non-contractual purchase: no purchase days, the rest undefined."""
    n = len(ids)
    undefined = {c: np.full(n, np.nan) for c in ("frequency", "recency", "T", "monetary_value")}
    return pd.DataFrame({
        "customer_id": ids.to_numpy(dtype=object),
        "first_purchase_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]"),
        "n_purchase_days": np.zeros(n, dtype=np.int64),
        **undefined,
    })


def _historical_value(summary: pd.DataFrame, revenue: pd.Series) -> pd.DataFrame:
    """The fallback rows: revenue of the trailing window (by customer_id) as predicted CLV, no model outputs."""
    historical = summary["customer_id"].map(revenue).fillna(0.0).to_numpy(float)
    return _with_predictions(summary, np.nan, np.nan, np.nan, historical, FALLBACK_METHOD)


def _concat(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([first, second], ignore_index=True) if len(second) else first


def _with_predictions(summary, alive, expected_transactions, value, clv, method) -> pd.DataFrame:
    n = len(summary)
    return summary.assign(
        probability_alive=np.broadcast_to(np.asarray(alive, dtype=float), n),
        expected_transactions_12m=np.broadcast_to(np.asarray(expected_transactions, dtype=float), n),
        expected_transaction_value=np.broadcast_to(np.asarray(value, dtype=float), n),
        predicted_clv_12m=np.broadcast_to(np.asarray(clv, dtype=float), n),
        clv_method=pd.Series([method] * n, index=summary.index, dtype=object),
    )[CUSTOMER_COLUMNS]


def _buyers(n: int) -> str:
    return f"{n:,} repeat buyer{'' if n == 1 else 's'}"


def _no_params() -> pd.DataFrame:
    dtypes = {"value": float, "log_likelihood": float, "n_customers": np.int64, "as_of": "datetime64[ns]"}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, object)) for c in PARAM_COLUMNS})


def _params_frame(bg_fit, gg_fit, time_unit, as_of) -> pd.DataFrame:
    rows = [
        (model, name, getattr(fit.params, name), fit.log_likelihood, fit.n_customers)
        for model, fit, names in (("bg_nbd", bg_fit, bg_nbd.PARAMETERS), ("gamma_gamma", gg_fit, gamma_gamma.PARAMETERS))
        for name in names
    ]
    frame = pd.DataFrame(rows, columns=["model", "parameter", "value", "log_likelihood", "n_customers"])
    return frame.assign(time_unit=time_unit, as_of=to_utc(as_of))[PARAM_COLUMNS]


@dataclass(frozen=True)
class SegmentedClvResult:
    customers: pd.DataFrame
    """One row per customer: CUSTOMER_COLUMNS and clv_segment, the segment whose fit priced them."""
    params: pd.DataFrame
    """One row per segment and fitted parameter: segment, then PARAM_COLUMNS; segments that fell back have none."""
    by_segment: dict[str, ClvResult]
    """Each segment's own result, in segment order."""

    @property
    def status(self) -> str:
        """Every segment's sentence, prefixed with the segment."""
        return " | ".join(f"{segment}: {result.status}" for segment, result in self.by_segment.items())


def clv_segments(personas: pd.Series) -> pd.Series:
    """Segment of each customer (personas: persona by customer_id, NaN when unknown).

    With at least two personas among the customers, each persona is a segment and customers
    without one are fitted together as 'all'; with fewer there is nothing to split, and
    everyone is in 'all'.
    """
    known = personas.notna() & personas.astype("string").str.strip().ne("").fillna(False).astype(bool)
    if personas[known].nunique() < 2:
        return pd.Series(SEGMENT_ALL, index=personas.index, dtype=object)
    return personas.where(known, SEGMENT_ALL).astype(str).astype(object)


def predict_clv_by_segment(
    transactions: pd.DataFrame, as_of: dt.datetime, personas: pd.Series | None = None, **options
) -> SegmentedClvResult:
    """predict_clv once per segment of `clv_segments(personas)`; options are predict_clv's.

    personas: persona by customer_id; customers missing from it have no known persona.
    """
    customers = customer_ids(transactions, as_of)
    persona = pd.Series(customers.map(personas) if personas is not None else np.nan, index=customers, dtype=object)
    segment_of = clv_segments(persona)
    segments = sorted(set(segment_of), key=lambda s: (s == SEGMENT_ALL, s)) or [SEGMENT_ALL]
    row_segment = transactions["customer_id"].map(segment_of) if len(segment_of) else None

    def of(segment: str) -> pd.DataFrame:
        return transactions if row_segment is None else transactions[row_segment == segment]

    by_segment = {segment: predict_clv(of(segment), as_of, **options) for segment in segments}
    rows = [r.customers.assign(clv_segment=segment) for segment, r in by_segment.items()]
    params = [r.params.assign(segment=segment)[["segment", *PARAM_COLUMNS]] for segment, r in by_segment.items()]
    return SegmentedClvResult(
        pd.concat(rows, ignore_index=True)[[*CUSTOMER_COLUMNS, "clv_segment"]],
        pd.concat(params, ignore_index=True),
        by_segment,
    )
