"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005 "RFM and CLV"; Fader & Hardie 2013 note).

Grain: one repeat buyer = (x, mbar): x repeat transactions with mean value mbar. Each
transaction value is Gamma(p, rate nu) around the customer's own mean p/nu, and nu ~ Gamma(q,
rate gamma) across customers. The posterior mean spend then shrinks a customer's observed
mbar towards the population mean p*gamma/(q-1), the less so the more transactions they have:
a single lucky big basket does not make a big spender.

The model assumes spend is independent of purchase frequency; callers should report the
frequency-monetary correlation (see transforms/clv.py). It is fitted only on repeat buyers with
a positive mean spend (the density is zero elsewhere); q must exceed 1 for the population mean
to exist, which a fit that fails to deliver is reported as not converged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

PARAMETERS = ("p", "q", "gamma")
_LOG_BOUND = 20.0
"""Search range of each log-parameter; an optimum on this edge means the data cannot pin it down."""


@dataclass(frozen=True)
class GammaGammaParams:
    p: float
    q: float
    gamma: float

    @property
    def population_mean(self) -> float:
        """E[transaction value] for a customer we know nothing about (also the answer for frequency 0)."""
        return self.p * self.gamma / (self.q - 1)


@dataclass(frozen=True)
class GammaGammaFit:
    params: GammaGammaParams
    log_likelihood: float
    """Total over repeat buyers (weights included) at the fitted parameters."""
    n_customers: int
    converged: bool
    message: str


def log_likelihood(params: GammaGammaParams, x, mbar) -> np.ndarray:
    """Log-density of each repeat buyer's mean spend mbar given x transactions (Fader & Hardie 2013, eq. 3)."""
    x, mbar = np.asarray(x, dtype=float), np.asarray(mbar, dtype=float)
    p, q, g = params.p, params.q, params.gamma
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(g)
        + (px - 1) * np.log(mbar) + px * np.log(x) - (px + q) * np.log(g + x * mbar)
    )


def _negative_mean_ll_and_gradient(log_params, x, mbar, weights):
    p, q, g = np.exp(log_params)
    ll = log_likelihood(GammaGammaParams(p, q, g), x, mbar)
    px = p * x
    log_g_xm = np.log(g + x * mbar)
    d_p = x * (digamma(px + q) - digamma(px) + np.log(mbar) + np.log(x) - log_g_xm)
    d_q = digamma(px + q) - digamma(q) + np.log(g) - log_g_xm
    d_g = q / g - (px + q) / (g + x * mbar)
    grad = np.array([(weights * d).sum() for d in (d_p, d_q, d_g)]) * np.exp(log_params)
    n = weights.sum()
    return -(weights * ll).sum() / n, -grad / n


def fit_gamma_gamma(x, mbar, weights=None) -> GammaGammaFit:
    """Maximum-likelihood p, q, gamma from repeat buyers (x >= 1, mbar > 0); reports converged=False, never raises."""
    x, mbar = np.asarray(x, dtype=float), np.asarray(mbar, dtype=float)
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    usable = (x > 0) & (mbar > 0) & np.isfinite(mbar)
    x, mbar, weights = x[usable], mbar[usable], weights[usable]
    n = int(round(weights.sum()))
    if n < 2:
        nothing = GammaGammaParams(np.nan, np.nan, np.nan)
        return GammaGammaFit(nothing, np.nan, n, False, "fewer than 2 repeat buyers with positive spend")
    # Start at a population mean equal to the observed mean spend: p=1, q=2 gives mean gamma.
    start = np.log([1.0, 2.0, np.average(mbar, weights=weights)])
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            _negative_mean_ll_and_gradient, start, args=(x, mbar, weights), jac=True, method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 3, options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7},
        )
    params = GammaGammaParams(*np.exp(result.x))
    ll = float((weights * log_likelihood(params, x, mbar)).sum())
    converged, message = _judge(result, ll, params)
    return GammaGammaFit(params, ll, n, converged, message)


def _judge(result, ll: float, params: GammaGammaParams) -> tuple[bool, str]:
    if not np.isfinite(ll) or not np.all(np.isfinite(result.x)):
        return False, "log-likelihood is not finite"
    edge = [name for name, v in zip(PARAMETERS, result.x) if abs(v) >= _LOG_BOUND - 1e-6]
    if edge:
        return False, f"parameter(s) {', '.join(edge)} ran to the edge of the search range"
    if params.q <= 1:
        return False, f"q = {params.q:.3g} <= 1: the population mean spend is infinite"
    if result.success or np.max(np.abs(result.jac)) < 1e-5:
        return True, "converged"
    return False, f"optimiser did not converge: {result.message}"


def expected_transaction_value(params: GammaGammaParams, x, mbar) -> np.ndarray:
    """E[M | x, mbar] = p (gamma + x mbar) / (p x + q - 1); frequency 0 gets the population mean.

    A missing or non-positive mbar (no repeat purchase, or refunds netting spend to zero) is
    read as 0, which for x = 0 is exactly the population mean.
    """
    x = np.asarray(x, dtype=float)
    mbar = np.nan_to_num(np.asarray(mbar, dtype=float), nan=0.0).clip(min=0.0)
    mbar = np.where(x > 0, mbar, 0.0)
    return params.p * (params.gamma + x * mbar) / (params.p * x + params.q - 1)
