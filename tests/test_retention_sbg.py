"""The sBG retention model (transforms/retention_sbg.py) against the paper, a simulation and
independent sums."""

from __future__ import annotations

import numpy as np
import pytest

from journeys.transforms import retention_sbg as sbg


def cohort(survivors: list[int]) -> tuple[np.ndarray, int]:
    """(lost per period, still active) from the survivors at the start of each period."""
    return -np.diff(survivors), survivors[-1]


@pytest.mark.parametrize(("segment", "survivors", "gamma", "delta"), [
    # Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive Marketing
    # 21(1): the active customers of a cohort of 1,000 in years 0-7 (their Table 1), and the
    # estimates they report from those seven years.
    ("regular", [1000, 631, 468, 382, 326, 289, 262, 241], 0.704, 1.182),
    ("high end", [1000, 869, 743, 653, 593, 551, 517, 491], 0.668, 3.806),
])
def test_the_fit_recovers_the_papers_estimates(segment, survivors, gamma, delta):
    fitted = sbg.fit(*cohort(survivors))
    assert round(fitted.gamma, 3) == gamma, segment
    assert round(fitted.delta, 3) == delta, segment
    assert fitted.n_subscribers == 1000 and fitted.converged


def test_the_log_likelihood_is_the_papers_recursion_summed_by_hand():
    """The paper's recursion: P(T = 1) = γ / (γ + δ), P(T = t) = P(T = t − 1) (δ + t − 2) / (γ + δ + t − 1),
    S(t) = 1 − Σ P(T = i); the log-likelihood sums log P over the lost and log S(n) over the active."""
    gamma, delta = 0.704, 1.182
    lost, active = cohort([1000, 631, 468, 382, 326, 289, 262, 241])
    p = [gamma / (gamma + delta)]
    for t in range(2, len(lost) + 1):
        p.append(p[-1] * (delta + t - 2) / (gamma + delta + t - 1))
    by_hand = sum(n * np.log(pt) for n, pt in zip(lost, p, strict=True)) + active * np.log(1 - sum(p))
    assert sbg.log_likelihood(gamma, delta, lost, active) == pytest.approx(by_hand, rel=1e-12)


def test_the_fit_recovers_known_parameters_from_a_simulated_cohort():
    """20,000 subscribers with θ ~ Beta(0.8, 2.5), each renewing with probability 1 − θ, observed
    for 12 periods: the fit lands near (0.8, 2.5), and its projection of periods 13-24 (not seen
    by the fit) matches the simulated survivors."""
    rng = np.random.default_rng(2007)
    theta = rng.beta(0.8, 2.5, 20_000)
    lifetime = rng.geometric(theta)  # the period in which each subscriber cancels
    observed = 12
    lost = np.array([(lifetime == t).sum() for t in range(1, observed + 1)])
    fitted = sbg.fit(lost, int((lifetime > observed).sum()))
    assert fitted.gamma == pytest.approx(0.8, rel=0.08)
    assert fitted.delta == pytest.approx(2.5, rel=0.10)
    later = np.arange(13, 25)
    simulated = np.array([(lifetime > t).mean() for t in later])
    assert sbg.survival(fitted.gamma, fitted.delta, later) == pytest.approx(simulated, abs=0.01)


def test_survival_by_hand_from_the_beta_functions():
    """S(1) = δ / (γ + δ) and S(2) = δ (δ + 1) / ((γ + δ)(γ + δ + 1)), the Beta-function ratios
    written out; and extreme parameters stay shares (a homogeneous fit runs γ, δ to 1e9)."""
    gamma, delta = 0.704, 1.182
    assert list(sbg.survival(gamma, delta, [0, 1, 2])) == pytest.approx(
        [1.0, delta / (gamma + delta), delta * (delta + 1) / ((gamma + delta) * (gamma + delta + 1))], rel=1e-12)
    extreme = sbg.survival(1e8, 9e8, np.arange(0, 30))
    assert np.all((extreme >= 0) & (extreme <= 1)) and extreme[1] == pytest.approx(0.9, rel=1e-9)


def test_a_fit_that_runs_to_the_edge_says_so():
    """Two lost in period 1, two active after 1 and 2 periods: the likelihood is highest where
    γ, δ → 0 (each subscriber's churn is 0 or 1). Nothing goes infinite, and the fit is flagged."""
    fitted = sbg.fit(np.array([2, 0, 0]), np.array([0, 1, 1, 0]))
    assert np.isfinite(fitted.log_likelihood) and fitted.log_likelihood < 0
    assert sbg.on_boundary(fitted)
    assert not sbg.on_boundary(sbg.fit(*cohort([1000, 631, 468, 382, 326, 289, 262, 241])))


def test_derl_where_scipy_hyp2f1_gives_up():
    """hyp2f1 returns inf for γ = 45, δ = 105; the series summed term by term is finite, and
    continuous with a γ a hair away."""
    value = float(sbg.derl(45.0, 105.0, 0, 0.1))
    assert np.isfinite(value)
    assert value == pytest.approx(float(sbg.derl(45.000001, 105.0, 0, 0.1)), rel=1e-6)


def test_derl_is_the_discounted_sum_of_future_renewals():
    """Summed term by term: a subscriber who renewed n times pays again in k more periods with
    probability S(n + k) / S(n), worth (1 + d)^-(k - 1) (the next renewal counted at 1)."""
    gamma, delta, d = 0.668, 3.806, 0.10
    k = np.arange(1, 5000)
    for n in (0, 1, 4, 10):
        alive = sbg.survival(gamma, delta, n + k) / sbg.survival(gamma, delta, [n])[0]
        by_hand = float(np.sum(alive / (1 + d) ** (k - 1)))
        assert sbg.derl(gamma, delta, n, d) == pytest.approx(by_hand, rel=1e-9), n
    # longer tenure, higher value: the survivors are the loyal ones
    assert np.all(np.diff(sbg.derl(gamma, delta, np.arange(0, 10), d)) > 0)


def test_expected_renewals_within_a_horizon_and_the_renewal_probability():
    gamma, delta = 0.704, 1.182
    # one period ahead, the expected renewals are the probability of renewing
    assert sbg.expected_renewals_within(gamma, delta, [3], 1)[0] == pytest.approx(
        sbg.renewal_probability(gamma, delta, [3])[0], rel=1e-12)
    # by hand for n = 0, horizon 2: r(1) + r(1) r(2)
    r1, r2 = delta / (gamma + delta), (delta + 1) / (gamma + delta + 1)
    assert sbg.expected_renewals_within(gamma, delta, [0], 2)[0] == pytest.approx(r1 + r1 * r2, rel=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one subscriber"):
        sbg.fit(np.array([]), 0)
    with pytest.raises(ValueError, match="discount rate"):
        sbg.derl(1.0, 1.0, 0, 0.0)


def test_subscribers_censored_at_different_tenures_are_fitted_like_the_paper_says():
    """Staggered starts: each subscriber observed for as many periods as they have been around.
    Simulated with θ ~ Beta(1.2, 3.0), 15,000 subscribers whose observation ends after 1-10 periods."""
    rng = np.random.default_rng(11)
    theta = rng.beta(1.2, 3.0, 15_000)
    lifetime = rng.geometric(theta)
    observed_for = rng.integers(1, 11, theta.size)
    cancelled = lifetime <= observed_for
    lost = np.array([(cancelled & (lifetime == t)).sum() for t in range(1, 11)])
    active = np.array([((~cancelled) & (observed_for == t)).sum() for t in range(0, 11)])
    fitted = sbg.fit(lost, active)
    assert fitted.n_subscribers == 15_000
    assert fitted.gamma == pytest.approx(1.2, rel=0.12)
    assert fitted.delta == pytest.approx(3.0, rel=0.15)
