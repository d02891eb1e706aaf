"""Recency-frequency-monetary summary: one row per customer, as the BG/NBD and Gamma-Gamma models want it.

The models count *repeat* transactions after a customer's first one, so the conventions follow
Fader, Hardie & Lee (2005) rather than everyday RFM:

- a transaction is a purchase *day* (UTC calendar day): two orders on the same day are one
  transaction with their revenue summed, because the purchase process the model describes is
  "does this customer come back", not "how many baskets did they split one visit into";
- frequency = purchase days - 1; recency = first to last purchase day; T = first purchase day
  to the as-of day; recency and T are in `time_unit` ('day' or 'week');
- monetary_value = mean revenue of the repeat purchase days; the first purchase is left out
  because it is often atypical (welcome offers, the initial kit) and is not what we predict.
  It is NaN when frequency is 0: there is no repeat purchase to average.

Only transactions with occurred_at <= as_of count. Naive timestamps are read as UTC. Rows
without a customer_id, or with a blank one (an export's placeholder for none), are dropped:
there is nobody to attribute them to, and pooling them would make one heavy "customer". Other
placeholders ('guest', '0') cannot be told from real ids here; callers pass stitched person ids.
A missing revenue counts as 0 (the purchase still happened).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

UNIT_DAYS = {"day": 1.0, "week": 7.0}
"""Length of each supported time unit in days."""

SUMMARY_COLUMNS = ["customer_id", "first_purchase_at", "n_purchase_days", "frequency", "recency", "T", "monetary_value"]


def unit_days(time_unit: str) -> float:
    try:
        return UNIT_DAYS[time_unit]
    except KeyError:
        raise ValueError(f"time_unit must be one of {sorted(UNIT_DAYS)}, got {time_unit!r}") from None


def to_utc(values) -> pd.Series | pd.Timestamp:
    """Timestamps as naive UTC, whether they came tz-aware or naive (naive is taken as UTC)."""
    if isinstance(values, (pd.Timestamp, dt.datetime, dt.date, str, np.datetime64)):
        ts = pd.Timestamp(values)
        return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts
    ts = pd.to_datetime(pd.Series(values))
    return ts.dt.tz_convert("UTC").dt.tz_localize(None) if ts.dt.tz is not None else ts


def _epoch_day(ts: pd.Series | pd.Timestamp):
    """Whole UTC days since 1970-01-01, so day differences are exact integers."""
    if isinstance(ts, pd.Timestamp):
        return int(np.datetime64(ts, "D").astype(np.int64))
    return ts.to_numpy().astype("datetime64[D]").astype(np.int64)


def _eligible(transactions: pd.DataFrame, as_of) -> pd.DataFrame:
    """Rows that count: a customer, a timestamp, and occurred_at on or before as_of."""
    missing = {"customer_id", "occurred_at", "revenue"} - set(transactions.columns)
    if missing and len(transactions):
        raise ValueError(f"transactions lack columns {sorted(missing)}")
    if missing:
        columns = {"customer_id": object, "occurred_at": "datetime64[ns]", "revenue": float}
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in columns.items()})
    frame = pd.DataFrame({
        "customer_id": transactions["customer_id"].to_numpy(),
        "occurred_at": to_utc(transactions["occurred_at"]).to_numpy(),
        "revenue": pd.to_numeric(transactions["revenue"], errors="coerce").fillna(0.0).to_numpy(dtype=float),
    })
    frame = frame[_has_customer(frame["customer_id"]) & frame["occurred_at"].notna()]
    return frame[frame["occurred_at"] <= to_utc(as_of)]


def _has_customer(ids: pd.Series) -> pd.Series:
    """False for a missing id and for a blank string, the placeholder some exports write instead of NULL."""
    blank = ids.astype("string").str.strip().eq("").fillna(False).astype(bool)
    return ids.notna() & ~blank


def rfm_summary(transactions: pd.DataFrame, as_of: dt.datetime, time_unit: str = "week") -> pd.DataFrame:
    """One row per customer with a purchase on or before as_of: the model inputs (see module docstring)."""
    unit = unit_days(time_unit)
    frame = _eligible(transactions, as_of)
    if frame.empty:
        dtypes = {"customer_id": object, "first_purchase_at": "datetime64[us]", "n_purchase_days": int, "frequency": int}
        return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, float)) for c in SUMMARY_COLUMNS})
    frame = frame.assign(day=_epoch_day(frame["occurred_at"]))
    days = (
        frame.groupby(["customer_id", "day"], sort=True)
        .agg(revenue=("revenue", "sum"), first_at=("occurred_at", "min"))
        .reset_index()
    )
    per_customer = days.groupby("customer_id", sort=True).agg(
        first_purchase_at=("first_at", "min"),
        n_purchase_days=("day", "size"),
        first_day=("day", "min"),
        last_day=("day", "max"),
        total_revenue=("revenue", "sum"),
        first_day_revenue=("revenue", "first"),
    )
    frequency = per_customer["n_purchase_days"].to_numpy(np.int64) - 1
    repeat_revenue = per_customer["total_revenue"].to_numpy() - per_customer["first_day_revenue"].to_numpy()
    monetary = np.where(frequency > 0, repeat_revenue / np.maximum(frequency, 1), np.nan)
    as_of_day = _epoch_day(to_utc(as_of))
    return pd.DataFrame({
        "customer_id": per_customer.index.to_numpy(),
        "first_purchase_at": per_customer["first_purchase_at"].to_numpy(),
        "n_purchase_days": per_customer["n_purchase_days"].to_numpy(np.int64),
        "frequency": frequency,
        "recency": (per_customer["last_day"].to_numpy() - per_customer["first_day"].to_numpy()) / unit,
        "T": (as_of_day - per_customer["first_day"].to_numpy()) / unit,
        "monetary_value": monetary,
    })


def customer_ids(transactions: pd.DataFrame, as_of: dt.datetime) -> pd.Index:
    """Every customer with a transaction on or before as_of, in order of first appearance."""
    return pd.Index(_eligible(transactions, as_of)["customer_id"].unique(), name="customer_id")


def trailing_revenue(transactions: pd.DataFrame, as_of: dt.datetime, window_days: float) -> pd.Series:
    """Revenue per customer with as_of - window_days < occurred_at <= as_of: the historical CLV fallback."""
    frame = _eligible(transactions, as_of)
    recent = frame[frame["occurred_at"] > to_utc(as_of) - pd.Timedelta(days=window_days)]
    return recent.groupby("customer_id", sort=True)["revenue"].sum()
