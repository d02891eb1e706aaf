"""BG/NBD repeat-purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Grain: one customer = one (x, t_x, T) triple: x repeat transactions, the last at t_x, observed
for T time units since the first purchase. While alive a customer buys as a Poisson process
with rate lambda ~ Gamma(r, rate alpha); after each repeat purchase they drop out for good with
probability p ~ Beta(a, b). Parameters are in the time unit of t_x and T.

Why hand-written: pymc-marketing is too heavy for the CI budget and `lifetimes` is unmaintained.
The likelihood has a closed form, so maximum likelihood with an analytic gradient over
log-parameters (positivity for free) fits a million customers in seconds, once identical
triples are collapsed into weights (`collapse`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

PARAMETERS = ("r", "alpha", "a", "b")
_LOG_BOUND = 20.0
"""Search range of each log-parameter; an optimum on this edge means the data cannot pin it down."""


@dataclass(frozen=True)
class BgNbdParams:
    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class BgNbdFit:
    params: BgNbdParams
    log_likelihood: float
    """Total over customers (weights included) at the fitted parameters."""
    n_customers: int
    converged: bool
    message: str


def collapse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Distinct rows of the given columns, how often each occurs, and each input row's distinct index.

    Customers with the same inputs have the same likelihood term and the same predictions, and
    real data has far fewer distinct rows than customers (recency and T are whole days), so
    fitting and predicting on the distinct rows is what makes a million customers cheap.
    """
    frame = pd.DataFrame({i: np.asarray(c, dtype=float) for i, c in enumerate(columns)})
    # Hash grouping is ~10x faster than np.unique(axis=0); with sort=False groups are numbered
    # in order of first appearance, so a new running maximum marks each group's first row.
    inverse = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
    running_max = np.maximum.accumulate(inverse)
    is_first = np.ones(len(inverse), dtype=bool)
    is_first[1:] = running_max[1:] > running_max[:-1]
    first_rows = np.flatnonzero(is_first)
    counts = np.bincount(inverse, minlength=len(first_rows)).astype(float)
    return [frame[i].to_numpy()[first_rows] for i in frame.columns], counts, inverse


def _terms(r, alpha, a, b, x, t_x, T):
    """Log of the paper's two likelihood pieces: still alive at T, or dropped out right after t_x."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dropped = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + t_x), -np.inf)
    return common, alive, dropped


def log_likelihood(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """Log-likelihood of each customer's (x, t_x, T)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    common, alive, dropped = _terms(params.r, params.alpha, params.a, params.b, x, t_x, T)
    return common + np.logaddexp(alive, dropped)


def _negative_mean_ll_and_gradient(log_params, x, t_x, T, weights):
    """Objective per unit weight (keeps the optimiser's tolerances data-size free) and its gradient in log-space."""
    r, alpha, a, b = np.exp(log_params)
    common, alive, dropped = _terms(r, alpha, a, b, x, t_x, T)
    total = np.logaddexp(alive, dropped)
    w_alive, w_dropped = np.exp(alive - total), np.exp(dropped - total)
    ll = common + total
    with np.errstate(divide="ignore", invalid="ignore"):
        inv_b_x_1 = np.where(x > 0, 1.0 / (b + x - 1), 0.0)
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w_alive * np.log(alpha + T) - w_dropped * np.log(alpha + t_x)
    d_alpha = r / alpha - (r + x) * (w_alive / (alpha + T) + w_dropped / (alpha + t_x))
    d_a = digamma(a + b) - digamma(a + b + x) + w_dropped / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - w_dropped * inv_b_x_1
    # (w * d).sum(), not np.dot: BLAS threads thrash on a busy 2-core runner (10x slower fits).
    grad = np.array([(weights * d).sum() for d in (d_r, d_alpha, d_a, d_b)]) * np.exp(log_params)
    n = weights.sum()
    return -(weights * ll).sum() / n, -grad / n


def fit_bg_nbd(x, t_x, T, weights=None) -> BgNbdFit:
    """Maximum-likelihood BG/NBD parameters; never raises on bad data, reports converged=False instead."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    n = int(round(weights.sum()))
    if n == 0:
        return BgNbdFit(BgNbdParams(*[np.nan] * 4), np.nan, 0, False, "no customers")
    # Start with the mean purchase rate at the observed repeat rate and a mean dropout probability of 1/2.
    mean_rate = max((weights * x).sum() / max((weights * T).sum(), 1e-9), 1e-6)
    start = np.log([1.0, 1.0 / mean_rate, 1.0, 1.0])
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        result = minimize(
            _negative_mean_ll_and_gradient, start, args=(x, t_x, T, weights), jac=True, method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4, options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7},
        )
    params = BgNbdParams(*np.exp(result.x))
    ll = float((weights * log_likelihood(params, x, t_x, T)).sum())
    converged, message = _judge(result, ll)
    return BgNbdFit(params, ll, n, converged, message)


def _judge(result, ll: float) -> tuple[bool, str]:
    """L-BFGS-B can stop on a line-search hiccup at the optimum; a near-zero gradient still counts as converged."""
    if not np.isfinite(ll) or not np.all(np.isfinite(result.x)):
        return False, "log-likelihood is not finite"
    edge = [name for name, v in zip(PARAMETERS, result.x) if abs(v) >= _LOG_BOUND - 1e-6]
    if edge:
        return False, f"parameter(s) {', '.join(edge)} ran to the edge of the search range"
    if result.success or np.max(np.abs(result.jac)) < 1e-5:
        return True, "converged"
    return False, f"optimiser did not converge: {result.message}"


def probability_alive(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """P(still alive at T | x, t_x, T): 1 without repeat purchases (nobody drops out before buying again)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        silence = np.log(params.alpha + T) - np.log(params.alpha + t_x)
        log_odds_dead = np.log(params.a) - np.log(params.b + x - 1) + (params.r + x) * silence
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_transactions(params: BgNbdParams, t, x, t_x, T) -> np.ndarray:
    """E[repeat transactions in (T, T + t] | x, t_x, T], the paper's conditional expectation (eq. 10).

    The Gauss hypergeometric term 2F1(r+x, b+x; a+b+x-1; z) is evaluated through Euler's
    transformation, (1-z)^(r+x) 2F1(...) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), whose upper
    parameters do not grow with x: the direct series loses precision for heavy buyers.
    Undefined at a = 1 exactly (0/0), which a fitted value never hits.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
    z = t / (alpha + T + t)
    bracket = 1.0 - (1.0 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * bracket * probability_alive(params, x, t_x, T)
