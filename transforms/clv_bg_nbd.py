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
from scipy.special import betainccinv, betaincinv, digamma, expit, gammaln, hyp2f1

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


def _dropout_terms(a, b, x):
    """log[B(a, b+x) / B(a, b)] (x repeat purchases survived) and its derivatives in a and b.

    The ratio is prod_{j<x} (b+j) / (a+b+j), so it is summed term by term. The equal gammaln and
    digamma differences lose every digit once a and b run into the millions, which they do when
    every customer has much the same dropout probability (a + b -> infinity at fixed a / (a + b)):
    the noise then stalled the optimiser. x must be whole numbers, as purchase counts are.
    """
    k = x.astype(np.int64)
    if np.any(k != x) or np.any(k < 0):
        raise ValueError("repeat-purchase counts x must be whole numbers >= 0")
    j = np.arange(k.max(initial=0), dtype=float)

    def summed(terms):
        return np.concatenate(([0.0], np.cumsum(terms)))[k]

    return (summed(-np.log1p(a / (b + j))), summed(-1.0 / (a + b + j)), summed(a / ((b + j) * (a + b + j))))


def _terms(r, alpha, a, b, x, t_x, T):
    """Log of the paper's two likelihood pieces: still alive at T, or dropped out right after t_x."""
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + _dropout_terms(a, b, x)[0]
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
    _, d_survived_a, d_survived_b = _dropout_terms(a, b, x)
    d_a = d_survived_a + w_dropped / a
    d_b = d_survived_b - w_dropped * inv_b_x_1
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
    if np.any(x != np.floor(x)) or np.any(x < 0):
        return BgNbdFit(BgNbdParams(*[np.nan] * 4), np.nan, n, False, "repeat-purchase counts are not whole numbers")
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


_COMMON_DROPOUT = 1e4
"""a + b above which the message says the dropout probability is the same for everyone (its spread
across customers, sqrt(m (1 - m) / (a + b + 1)) for mean m, is then under 0.005)."""


def _judge(result, ll: float) -> tuple[bool, str]:
    """L-BFGS-B can stop on a line-search hiccup at the optimum; a near-zero gradient still counts as converged.

    a and b running to the upper edge together is the one edge that is an answer: the likelihood
    keeps rising as a + b grows at a fixed a / (a + b) when the data show no spread in the dropout
    probability, and Beta(a, b) with a + b ~ 1e8 is a point mass for every practical purpose. The fit
    is then the common-dropout limit of the model, and, as for any a + b above _COMMON_DROPOUT, the
    message says so: only a / (a + b) is identified, not a and b.
    """
    if not np.isfinite(ll) or not np.all(np.isfinite(result.x)):
        return False, "log-likelihood is not finite"
    at_edge = np.abs(result.x) >= _LOG_BOUND - 1e-6
    edge = [name for name, hit in zip(PARAMETERS, at_edge) if hit]
    if edge and not (set(edge) <= {"a", "b"} and all(result.x[at_edge] > 0)):
        return False, f"parameter(s) {', '.join(edge)} ran to the edge of the search range"
    if not (result.success or np.max(np.abs(result.jac[~at_edge])) < 1e-5):
        return False, f"optimiser did not converge: {result.message}"
    a, b = np.exp(result.x[2:])
    if a + b > _COMMON_DROPOUT:
        return True, (f"converged to a dropout probability a / (a + b) = {a / (a + b):.3g} common to every customer "
                      f"(a + b = {a + b:.2g}: the data show no spread in it, so a and b are not separately identified)")
    return True, "converged"


def probability_alive(params: BgNbdParams, x, t_x, T) -> np.ndarray:
    """P(still alive at T | x, t_x, T): 1 without repeat purchases (nobody drops out before buying again)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    with np.errstate(divide="ignore", invalid="ignore"):
        silence = np.log(params.alpha + T) - np.log(params.alpha + t_x)
        log_odds_dead = np.log(params.a) - np.log(params.b + x - 1) + (params.r + x) * silence
    return np.where(x > 0, expit(-log_odds_dead), 1.0)


def expected_transactions(params: BgNbdParams, t, x, t_x, T) -> np.ndarray:
    """E[repeat transactions in (T, T + t] | x, t_x, T], the paper's conditional expectation (eq. 10).

    Equals P(alive) times E[Y(t) | alive], see `expected_while_alive`.
    """
    t, x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, t_x, T)))
    return expected_while_alive(params, t, x, T) * probability_alive(params, x, t_x, T)


def expected_while_alive(params: BgNbdParams, t, x, T) -> np.ndarray:
    """E[repeat transactions in (T, T + t] | still alive at T, x]: the eq. (10) factor besides P(alive).

    In the paper's form, (a+b+x-1)/(a-1) [1 - (1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z)], z = t/(alpha+T+t).
    scipy's hyp2f1 breaks down in different corners for each of the term's equivalent forms:
    - Euler's, (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z), overflows to 0 * inf once a is large
      (2F1 grows like (1-z)^(1-a)): a fit whose dropout probability is the same for every
      customer has a and b in the millions, which made every prediction NaN;
    - the paper's own grows like (1-z)^-(r+x) and overflows for heavy buyers;
    - both return NaN for a large a+b+x-1 with z near 1, and lose the result to the 0/0 at a = 1.
    So each element uses the form whose 2F1 factor is smaller (Euler's when a-1 <= r+x), the
    other where that one is not finite, and where neither gives a finite value inside the
    model's bounds, `_expected_while_alive_by_quadrature`, which integrates the model directly.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    t, x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, x, T)))
    log_1mz = np.log(alpha + T) - np.log(alpha + T + t)
    z = t / (alpha + T + t)
    c = a + b + x - 1
    with np.errstate(all="ignore"):
        euler = np.exp((a - 1) * log_1mz) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        paper = np.exp((r + x) * log_1mz) * hyp2f1(r + x, b + x, c, z)
        prefer_euler = a - 1 <= r + x
        term = np.where(prefer_euler, euler, paper)
        term = np.where(np.isfinite(term), term, np.where(prefer_euler, paper, euler))
        expected = c / (a - 1) * (1.0 - term)
    # 0 <= E <= (r+x) t / (alpha+T): no more than the purchases of a customer who never drops out.
    # Within 1e-6 of a = 1 the prefactor's 0/0 cancels most digits away.
    ok = np.isfinite(expected) & (expected >= 0) & (expected <= (r + x) * t / (alpha + T) * (1 + 1e-9))
    ok &= abs(a - 1) > 1e-6
    if not ok.all():
        expected = np.where(ok, expected, 0.0)
        expected[~ok] = _expected_while_alive_by_quadrature(params, t[~ok], x[~ok], T[~ok])
    return expected


def _tanh_sinh(step: float = 1 / 16, reach: float = 3.2) -> tuple[np.ndarray, np.ndarray]:
    """Nodes (as s, with u = expit(2 s)) and weights of tanh-sinh quadrature of [0, 1] in u.

    Clustered at both ends, so it integrates functions with endpoint singularities (the Beta
    quantile at u -> 0 or 1) to near machine precision; `reach` leaves out u within 1e-16 of an end.
    """
    k = np.arange(-round(reach / step), round(reach / step) + 1) * step
    s = np.pi / 2 * np.sinh(k)
    return s, step * np.pi / 4 * np.cosh(k) / np.cosh(s) ** 2


def _expected_while_alive_by_quadrature(params: BgNbdParams, t, x, T) -> np.ndarray:
    """The same expectation as the integral it comes from: alive after x repeat purchases, the dropout
    probability is p ~ Beta(a, b+x) and the rate is Gamma(r+x, alpha+T), so
    E = E_p[(1 - ((alpha+T) / (alpha+T+p t))^(r+x)) / p], integrated over the quantile u of p.
    Valid for every a, b > 0, but ~100 times slower than hyp2f1: only for what hyp2f1 cannot do.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    s, weights = _tanh_sinh()
    result = np.empty(len(x))
    for value in np.unique(x):
        rows = x == value
        # Lower half from u, upper half from 1 - u, so neither end loses precision.
        p = np.where(s <= 0, betaincinv(a, b + value, expit(2 * s)), betainccinv(a, b + value, expit(-2 * s)))
        scaled = (t[rows] / (alpha + T[rows]))[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            per_p = np.where(p > 0, -np.expm1(-(r + value) * np.log1p(p * scaled)) / p, (r + value) * scaled)
        result[rows] = (per_p * weights).sum(axis=1)
    return result
