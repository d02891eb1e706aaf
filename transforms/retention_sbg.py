"""Contractual retention: the shifted-beta-geometric (sBG) model.

Fader, P. S. and Hardie, B. G. S. (2007), "How to Project Customer Retention", Journal of
Interactive Marketing 21(1), 76-90; and (2010), "Customer-Base Valuation in a Contractual
Setting: The Perils of Ignoring Heterogeneity", Marketing Science 29(1), 85-93, for DERL.

A subscriber renews at the end of each period with a probability 1 − θ of their own, and θ varies
across subscribers as Beta(γ, δ). A new cohort's lifetime T (the period in which a subscriber
cancels, t = 1, 2, ...) then has

    P(T = t) = B(γ + 1, δ + t − 1) / B(γ, δ)
    S(t)     = P(T > t) = B(γ, δ + t) / B(γ, δ)            (S(0) = 1)
    r(t)     = S(t) / S(t − 1) = (δ + t − 1) / (γ + δ + t − 1)

so the aggregate retention rate r(t) rises with tenure even though no one's θ changes: the
cancellers leave first. That is why the model projects retention where a constant rate (or a
curve fitted to the first periods) does not.

Functions here are pure (numpy, scipy): the fit takes the number of subscribers who started, and
how many were lost in each period observed so far; the warehouse's step turns renewal events into
those counts (per plan).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class SbgFit:
    gamma: float
    delta: float
    log_likelihood: float
    n_subscribers: int
    converged: bool

    @property
    def mean_churn_probability(self) -> float:
        """E[θ] = γ / (γ + δ): a new subscriber's chance of cancelling in the first period."""
        return self.gamma / (self.gamma + self.delta)


LOG_BOUNDS = ((-12.0, 25.0), (-12.0, 25.0))
"""Where the fit looks for log γ and log δ (about 6e-6 to 7e10): a maximum on the edge is a
boundary solution (no spread at all, or none identified), which the caller reports as such."""


def on_boundary(fit_: SbgFit) -> bool:
    """The fit ran to an edge of LOG_BOUNDS: its γ and δ are not estimates, only their direction."""
    return any(not (low + 0.5 < np.log(value) < high - 0.5) for value, (low, high) in
               zip((fit_.gamma, fit_.delta), LOG_BOUNDS, strict=True))


def _log_beta(a, b):
    return special.betaln(a, b)


def _active_by_tenure(lost: np.ndarray, still_active) -> np.ndarray:
    """still_active as counts by periods completed (index t = 0..len(lost)): one cohort's survivors
    (an int: all observed for len(lost) periods), or subscribers who started at different times
    and are still active after t periods (right-censored at their own tenure)."""
    if np.ndim(still_active) == 0:
        active = np.zeros(len(lost) + 1)
        active[-1] = still_active
        return active
    active = np.asarray(still_active, dtype=float)
    if len(active) != len(lost) + 1:
        raise ValueError("still_active by tenure needs one count per periods completed, 0..len(lost)")
    return active


def log_likelihood(gamma: float, delta: float, lost: np.ndarray, still_active) -> float:
    """Log-likelihood: lost[t - 1] subscribers cancelled in period t (t = 1..n); still_active are
    the right-censored ones, as one cohort's survivors after period n or as counts by periods
    completed (see _active_by_tenure)."""
    lost = np.asarray(lost, dtype=float)
    active = _active_by_tenure(lost, still_active)
    t = np.arange(1, len(lost) + 1)
    log_p = _log_beta(gamma + 1, delta + (t - 1)) - _log_beta(gamma, delta)  # δ + 0, not δ + 1 - 1 (δ below 1e-16)
    log_s = _log_beta(gamma, delta + np.arange(len(active))) - _log_beta(gamma, delta)
    return float(np.sum(lost * log_p) + np.sum(active * log_s))


def fit(lost: np.ndarray, still_active) -> SbgFit:
    """Maximum-likelihood γ and δ (optimised on their logs, so both stay positive)."""
    lost = np.asarray(lost, dtype=float)
    n = int(round(lost.sum() + _active_by_tenure(lost, still_active).sum()))
    if n == 0 or len(lost) == 0:
        raise ValueError("the sBG fit needs at least one subscriber and one observed period")

    def negative(log_params):
        gamma, delta = np.exp(log_params)
        return -log_likelihood(gamma, delta, lost, still_active)

    best = None
    for start in ((0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)):  # a few starts: the surface is flat along γ/δ
        result = optimize.minimize(negative, np.array(start), method="L-BFGS-B", bounds=LOG_BOUNDS,
                                   options={"ftol": 1e-15, "gtol": 1e-9, "maxiter": 10_000})
        if best is None or result.fun < best.fun:
            best = result
    gamma, delta = np.exp(best.x)
    return SbgFit(float(gamma), float(delta), float(-best.fun), n, bool(best.success))


def survival(gamma: float, delta: float, periods: np.ndarray) -> np.ndarray:
    """S(t) for each t in `periods`: the share of a new cohort still subscribed after t periods.
    Computed as the product of the retention rates r(1..t), each <= 1, so it stays a share even
    where the Beta functions' ratio loses precision (γ and δ in the millions: a homogeneous
    cohort, which a fit on a few subscriptions can give)."""
    t = np.asarray(periods, dtype=int)
    if t.size == 0:
        return np.zeros(0)
    if t.min() < 0:
        raise ValueError("periods are counts of periods completed, >= 0")
    cumulative = np.concatenate([[1.0], np.cumprod(retention_rate(gamma, delta, np.arange(1, t.max() + 1)))])
    return cumulative[t]


def retention_rate(gamma: float, delta: float, periods: np.ndarray) -> np.ndarray:
    """r(t): the share of those active in period t − 1 who are still active in period t."""
    t = np.asarray(periods, dtype=float)
    return (delta + (t - 1)) / (gamma + delta + (t - 1))


def renewal_probability(gamma: float, delta: float, renewals_made: np.ndarray) -> np.ndarray:
    """For a subscriber who has renewed `renewals_made` times (so is in period renewals_made + 1):
    the probability of renewing at the end of this period, E[1 − θ | survived]."""
    n = np.asarray(renewals_made, dtype=float)
    return (delta + n) / (gamma + delta + n)


def derl(gamma: float, delta: float, renewals_made: np.ndarray, discount_rate: float) -> np.ndarray:
    """Discounted expected residual lifetime (Fader & Hardie 2010) of a subscriber who has
    renewed `renewals_made` times, just before the next renewal decision: the expected number of
    future payments, each discounted by (1 + d) per period, the next one (if it renews) counted at
    1. Multiplied by the payment per period, it is the subscriber's residual value.

        DERL = (δ + n) / (γ + δ + n) · 2F1(1, δ + n + 1; γ + δ + n + 1; 1 / (1 + d))

    with n = renewals_made. Finite for any d > 0; at d = 0 it is infinite unless γ > 1 (E[1/θ])."""
    if not discount_rate > 0:
        raise ValueError("DERL needs a discount rate per period > 0")
    n = np.asarray(renewals_made, dtype=float)
    value = (delta + n) / (gamma + delta + n) * special.hyp2f1(1.0, delta + n + 1, gamma + delta + n + 1,
                                                                1.0 / (1.0 + discount_rate))
    if np.all(np.isfinite(value)):
        return value
    # scipy's hyp2f1 fails for some integer γ (NaN or inf from 45 up): sum the series instead
    return np.vectorize(lambda one: _derl_by_sum(gamma, delta, one, discount_rate))(n)


def _derl_by_sum(gamma: float, delta: float, n: float, discount_rate: float, tolerance: float = 1e-13) -> float:
    """Σ_{k≥1} S(n + k) / S(n) (1 + d)^-(k - 1), term by term until the terms vanish."""
    total, term, k = 0.0, 1.0, 0
    while True:
        term *= (delta + n + k) / (gamma + delta + n + k) / (1.0 if k == 0 else 1.0 + discount_rate)
        total += term
        k += 1
        if term < tolerance * total or k > 1_000_000:
            return total


def expected_renewals_within(gamma: float, delta: float, renewals_made: np.ndarray, horizon: int) -> np.ndarray:
    """Expected renewals over the next `horizon` periods (undiscounted) for a subscriber who has
    renewed `renewals_made` times: Σ_{k=1..horizon} S(n + k) / S(n), bounded where the unbounded sum
    (the expected remaining lifetime) is infinite for γ ≤ 1."""
    n = np.asarray(renewals_made, dtype=float)[..., None]
    k = np.arange(1, horizon + 1)
    return np.exp(_log_beta(gamma, delta + n + k) - _log_beta(gamma, delta + n)).sum(axis=-1)
