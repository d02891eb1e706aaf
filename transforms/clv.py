"""Predicted customer lifetime value: BG/NBD for how often, Gamma-Gamma for how much, discounted monthly.

Grain of `ClvResult.customers`: one row per customer with a purchase on or before as_of.
`params`: one row per fitted model parameter.

Why a fallback instead of an exception: the CLV table feeds dashboards that must refresh on a
young shop or a thin test warehouse too. With fewer than `min_repeat_customers` repeat buyers,
or when either model fails to converge (degenerate data, e.g. every basket the same price),
the models have nothing trustworthy to say, so every customer gets the historical value
instead (revenue of the last `horizon_months`), `clv_method` says so, `status` explains why,
and `params` is empty.

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
from journeys.transforms.clv_summary import rfm_summary, to_utc, trailing_revenue, unit_days

DAYS_PER_MONTH = 365.0 / 12
CUSTOMER_COLUMNS = [
    "customer_id", "first_purchase_at", "n_purchase_days", "frequency", "recency", "T", "monetary_value",
    "probability_alive", "expected_transactions_12m", "expected_transaction_value", "predicted_clv_12m", "clv_method",
]
PARAM_COLUMNS = ["model", "parameter", "value", "time_unit", "log_likelihood", "n_customers", "as_of"]
MODEL_METHOD = "bg_nbd_gamma_gamma"
FALLBACK_METHOD = "historical_fallback"


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
    """Fits BG/NBD and Gamma-Gamma on everything up to as_of and predicts each customer's next horizon_months."""
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    summary = rfm_summary(transactions, as_of, time_unit)
    correlation = frequency_monetary_correlation(summary)
    if summary.empty:
        empty = _with_predictions(summary, np.nan, np.nan, np.nan, np.nan, FALLBACK_METHOD)
        return ClvResult(empty, _no_params(), "no transactions on or before as_of: nothing to predict", correlation)

    n_repeat = int((summary["frequency"] > 0).sum())

    def fallback(why: str) -> ClvResult:
        return _fallback(summary, transactions, as_of, horizon_months, why, correlation)

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
    return ClvResult(customers, _params_frame(bg_fit, gg_fit, time_unit, as_of), status, correlation)


def _with_predictions(summary, alive, expected_transactions, value, clv, method) -> pd.DataFrame:
    n = len(summary)
    return summary.assign(
        probability_alive=np.broadcast_to(np.asarray(alive, dtype=float), n),
        expected_transactions_12m=np.broadcast_to(np.asarray(expected_transactions, dtype=float), n),
        expected_transaction_value=np.broadcast_to(np.asarray(value, dtype=float), n),
        predicted_clv_12m=np.broadcast_to(np.asarray(clv, dtype=float), n),
        clv_method=pd.Series([method] * n, index=summary.index, dtype=object),
    )[CUSTOMER_COLUMNS]


def _fallback(summary, transactions, as_of, horizon_months, why, correlation) -> ClvResult:
    window_days = horizon_months * DAYS_PER_MONTH
    revenue = trailing_revenue(transactions, as_of, window_days)
    historical = summary["customer_id"].map(revenue).fillna(0.0).to_numpy(float)
    customers = _with_predictions(summary, np.nan, np.nan, np.nan, historical, FALLBACK_METHOD)
    status = (
        f"{why}: no model fitted; predicted CLV falls back to historical value "
        f"(revenue of the last {window_days:.0f} days) for all {len(summary):,} customers"
    )
    return ClvResult(customers, _no_params(), status, correlation)


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
