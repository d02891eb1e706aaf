"""marts.attribution against ChannelAttribution (Altomare & Loris), the package analysts use.

A few thousand seeded journeys are written into a real warehouse file and attributed by the real
build; the same journeys, turned into ChannelAttribution's path table by the rule stated here
(independently of the mart's SQL), go through its heuristic_models and markov_model.

The path of a journey, per dimension: the values of its touchpoints before its first conversion
that carry one ('a > b > c'), or '(none)' when there is none; a converting journey adds one to
its path's total_conversions (and its first conversion's revenue to total_conversion_value), any
other to total_null. ChannelAttribution counts repeats in linear touch as we do, and collapses
repeated consecutive values in its Markov chain, which we keep as self-loops: the absorption
probabilities are the same. Its Markov figures are a simulation (seeded), ours exact, so they
agree to the simulation's error, well inside the 0.01 asked for.
"""

from __future__ import annotations

import ChannelAttribution  # the test extra installs it (pyproject.toml)
import numpy as np
import pandas as pd
import pytest

from journeys.settings import load_settings
from tests.cx_inputs import Inputs, build_marts, rows

N_JOURNEYS = 3000
SEED = 20251122
CAMPAIGN_TOUCHES = {  # (channel, event_type, campaign): lift on the conversion probability
    ("social", "ad_click", "spring"): 0.10, ("social", "ad_click", "retarget"): 0.25,
    ("social", "ad_impression", "summer"): 0.03, ("email", "email_open", "news"): 0.06,
    ("email", "email_click", "spring"): 0.12, ("email", "email_open", "winback"): 0.15,
    ("sms", "sms_click", "flash_sale"): 0.20, ("web", "page_view", "summer"): 0.05,
}
ORGANIC_TOUCHES = {("web", "page_view"): 0.04, ("mobile_app", "product_view"): 0.05,
                   ("store", "store_visit"): 0.12, ("call_center", "support_call"): 0.02}
CONVERSION_CHANNELS = ("web", "mobile_app", "store")


def simulate(rng: np.random.Generator) -> list[list[dict]]:
    """Journeys as lists of steps {channel, event_type, campaign, revenue}: touches, then for a
    converting journey its purchase (sometimes with a promo campaign) and sometimes more touches and
    a repeat purchase; 4% are walk-in purchases with nothing before them."""
    campaign_touches, organic_touches = list(CAMPAIGN_TOUCHES), list(ORGANIC_TOUCHES)
    journeys = []
    for _ in range(N_JOURNEYS):
        steps = []
        if rng.random() >= 0.04:
            for _ in range(1 + min(rng.poisson(2.5), 9)):
                if rng.random() < 0.55:
                    channel, event_type, campaign = campaign_touches[rng.integers(len(campaign_touches))]
                    steps.append({"channel": channel, "event_type": event_type, "campaign": campaign,
                                  "lift": CAMPAIGN_TOUCHES[(channel, event_type, campaign)]})
                else:
                    channel, event_type = organic_touches[rng.integers(len(organic_touches))]
                    steps.append({"channel": channel, "event_type": event_type,
                                  "lift": ORGANIC_TOUCHES[(channel, event_type)]})
            converts = rng.random() < 1 - np.prod([1 - s["lift"] for s in steps])
        else:
            converts = True
        if converts:
            steps.append({"channel": CONVERSION_CHANNELS[rng.integers(3)], "event_type": "purchase",
                          "campaign": "promo" if rng.random() < 0.3 else None,
                          "revenue": float(round(rng.gamma(2.0, 40.0), 2))})
            if rng.random() < 0.4:
                steps.append({"channel": "email", "event_type": "email_open", "campaign": "news"})
                steps.append({"channel": "web", "event_type": "purchase", "revenue": 25.0})
        journeys.append(steps)
    return journeys


def reference_paths(journeys: list[list[dict]], dimension: str) -> pd.DataFrame:
    """ChannelAttribution's input: one row per distinct path with total_conversions, total_null and
    total_conversion_value, by the rule in the module docstring."""
    counts: dict[str, list[float]] = {}
    for steps in journeys:
        first_conversion = next((i for i, s in enumerate(steps) if s["event_type"] == "purchase"), None)
        before = steps if first_conversion is None else steps[:first_conversion]
        values = [s[dimension] for s in before if s.get(dimension)]
        path = " > ".join(values) if values else "(none)"
        row = counts.setdefault(path, [0, 0, 0.0])
        if first_conversion is None:
            row[1] += 1
        else:
            row[0] += 1
            row[2] += steps[first_conversion]["revenue"]
    return pd.DataFrame([(path, c, n, v) for path, (c, n, v) in counts.items()],
                        columns=["path", "total_conversions", "total_null", "total_conversion_value"])


def _inputs(journeys: list[list[dict]]) -> Inputs:
    inputs = Inputs()
    for number, steps in enumerate(journeys):
        specs = [" ".join([s["channel"], s["event_type"],
                           *([f"campaign={s['campaign']}"] if s.get("campaign") else []),
                           *([f"revenue={s['revenue']}"] if s.get("revenue") is not None else [])])
                 for s in steps]
        inputs.journey(f"j{number}", f"p{number}", *specs)
    return inputs


@pytest.fixture(scope="module")
def journeys() -> list[list[dict]]:
    return simulate(np.random.default_rng(SEED))


@pytest.fixture(scope="module")
def mart(journeys, tmp_path_factory) -> pd.DataFrame:
    """marts.attribution built from the journeys in a real warehouse file."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("JOURNEYS_AS_OF", raising=False)
        patch.delenv("JOURNEYS_CONFIG", raising=False)
        home = tmp_path_factory.mktemp("attribution-reference")
        patch.chdir(home)
        settings = load_settings(home=home / "home")
        con = build_marts(settings, _inputs(journeys), only=("marts.attribution",))
    frame = pd.DataFrame(rows(con, "select * from marts.attribution"))
    con.close()
    return frame


@pytest.fixture(scope="module")
def heuristics(journeys) -> dict[str, pd.DataFrame]:
    """ChannelAttribution.heuristic_models per dimension, on the converting paths."""
    result = {}
    for dimension in ("channel", "campaign"):
        paths = reference_paths(journeys, dimension)
        result[dimension] = ChannelAttribution.heuristic_models(
            paths[paths["total_conversions"] > 0], "path", "total_conversions",
            var_value="total_conversion_value", flg_pro=False).set_index("channel_name")
    return result


@pytest.fixture(scope="module")
def markov(journeys) -> dict[str, pd.DataFrame]:
    """ChannelAttribution.markov_model per dimension, on every path (null paths included).

    2M simulated paths instead of its default 100k, so its Monte Carlo error (about 0.002 on a
    removal effect) is well inside the tolerance; max_step 100 instead of the longest observed path,
    so hardly any simulated path is cut short by the step limit (a path cut short counts as null)."""
    result = {}
    for dimension in ("channel", "campaign"):
        out = ChannelAttribution.markov_model(
            reference_paths(journeys, dimension), "path", "total_conversions", var_null="total_null",
            out_more=True, nsim_start=2e6, max_step=100, seed=0, verbose=False, flg_pro=False)
        frame = out["result"].merge(out["removal_effects"], on="channel_name").set_index("channel_name")
        frame["share"] = frame["total_conversions"] / frame["total_conversions"].sum()
        result[dimension] = frame
    return result


def _ours(mart: pd.DataFrame, model: str, dimension: str, column: str) -> pd.Series:
    chosen = mart[(mart["model"] == model) & (mart["dimension"] == dimension)]
    return chosen.set_index("dimension_value")[column].sort_index()


def test_the_journeys_exercise_every_rule(journeys, mart):
    """Walk-ins, promo purchases, touches after the conversion and journeys no campaign reached all occur."""
    converting = [s for s in journeys if any(x["event_type"] == "purchase" for x in s)]
    assert sum(s[0]["event_type"] == "purchase" for s in converting) > 50
    assert sum(any(x.get("campaign") == "promo" for x in s) for s in converting) > 200
    assert 0.3 < len(converting) / len(journeys) < 0.8
    assert set(_ours(mart, "last_touch", "campaign", "share").index) >= {"(none)", "spring", "retarget"}
    assert "promo" not in set(mart["dimension_value"])


@pytest.mark.parametrize("dimension", ["channel", "campaign"])
@pytest.mark.parametrize(("model", "theirs"), [("first_touch", "first_touch"), ("last_touch", "last_touch"),
                                                ("linear", "linear_touch")])
def test_heuristic_models_match_to_one_conversion(mart, heuristics, model, theirs, dimension):
    """Conversions (and revenue) per channel or campaign within ±1 of heuristic_models."""
    reference = heuristics[dimension]
    ours = _ours(mart, model, dimension, "conversions")
    assert set(ours.index) == set(reference.index)
    gap = (ours - reference[f"{theirs}_conversions"]).abs()
    assert gap.max() <= 1, gap.sort_values().tail()
    revenue_gap = (_ours(mart, model, dimension, "revenue") - reference[f"{theirs}_value"]).abs()
    assert revenue_gap.max() <= 1, revenue_gap.sort_values().tail()


@pytest.mark.parametrize("dimension", ["channel", "campaign"])
def test_markov_removal_effects_match_to_a_hundredth(mart, markov, dimension):
    """Removal effect per channel or campaign within 0.01 of markov_model's."""
    reference = markov[dimension]
    ours = _ours(mart, "markov", dimension, "removal_effect")
    assert set(ours.index) == set(reference.index)
    gap = (ours - reference["removal_effect"]).abs()
    assert gap.max() <= 0.01, gap.sort_values().tail()


@pytest.mark.parametrize("dimension", ["channel", "campaign"])
def test_markov_shares_match_to_a_hundredth(mart, markov, dimension):
    """Share of conversions per channel or campaign within 0.01 of markov_model's."""
    reference = markov[dimension]
    gap = (_ours(mart, "markov", dimension, "share") - reference["share"]).abs()
    assert gap.max() <= 0.01, gap.sort_values().tail()
