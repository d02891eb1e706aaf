"""marts.attribution: six models crediting converting journeys by channel and campaign.

The touches that count, in every model: a journey's touchpoints before its first conversion that
carry a value of the dimension; a journey with none has the one pseudo-touch '(none)'."""

from __future__ import annotations

import pandas as pd
import pytest

from journeys.transforms.attribution import MODELS, removal_effects
from tests.cx_inputs import Inputs, build_marts, rows

MARTS = ("marts.attribution",)



def test_the_six_attribution_models_are_offered():
    """The README and the attribution spec promise exactly these six models, in this order."""
    assert MODELS == ("first_touch", "last_touch", "linear", "time_decay", "position_based", "markov")

def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)


def _credits(con, model: str, dimension: str = "channel", column: str = "conversions") -> dict[str, float]:
    return {r["dimension_value"]: r[column] for r in rows(
        con, "select * from marts.attribution where model = ? and dimension = ?", model, dimension)}


def _three_touches() -> Inputs:
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click campaign=spring", "email email_open campaign=news",
                   "web purchase revenue=100")
    return inputs


def test_first_touch_credits_the_first_touchpoint(settings):
    """social ad_click (spring) started the journey: all of its one conversion and 100 revenue."""
    con = build(settings, _three_touches())
    assert _credits(con, "first_touch") == {"social": 1.0, "email": 0.0}
    assert _credits(con, "first_touch", "campaign", "revenue") == {"spring": 100.0, "news": 0.0}


def test_last_touch_credits_the_last_touch_before_the_conversion(settings):
    """The purchase is not a touch: last touch is the e-mail and its campaign, not the web and '(none)'."""
    con = build(settings, _three_touches())
    assert _credits(con, "last_touch") == {"social": 0.0, "email": 1.0}
    assert _credits(con, "last_touch", "campaign") == {"spring": 0.0, "news": 1.0}


def test_the_conversion_event_earns_nothing_even_with_a_campaign(settings):
    """A purchase made with a promo campaign: the promo is not credited, the e-mail's campaign is."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "email email_open campaign=news", "web purchase campaign=promo revenue=10")
    con = build(settings, inputs)
    for model in MODELS:
        assert _credits(con, model, "campaign") == pytest.approx({"news": 1.0}), model


def test_campaign_credit_skips_touches_without_a_campaign(settings):
    """spring, organic page view, news, organic page view, purchase: campaigns see spring > news only."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click campaign=spring", "web page_view", "email email_open campaign=news",
                   "web page_view", "web purchase")
    con = build(settings, inputs)
    assert _credits(con, "last_touch", "campaign") == {"spring": 0.0, "news": 1.0}
    assert _credits(con, "linear", "campaign") == {"spring": 0.5, "news": 0.5}
    assert _credits(con, "markov", "campaign", "share") == pytest.approx({"spring": 0.5, "news": 0.5})
    assert _credits(con, "linear") == {"social": 0.25, "web": 0.5, "email": 0.25}


def test_a_journey_no_campaign_reached_credits_none_in_every_model(settings):
    """spring > purchase 60 and organic > purchase 40: each campaign value earns one conversion."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click campaign=spring", "web purchase revenue=60")
    inputs.journey("j2", "p2", "web page_view", "web purchase revenue=40")
    con = build(settings, inputs)
    for model in MODELS:
        assert _credits(con, model, "campaign") == pytest.approx({"spring": 1.0, "(none)": 1.0}), model
        assert _credits(con, model, "campaign", "revenue") == pytest.approx(
            {"spring": 60.0, "(none)": 40.0} if model != "markov" else {"spring": 50.0, "(none)": 50.0}), model


def test_a_conversion_with_no_touch_before_it_credits_none_as_channel(settings):
    """A walk-in store purchase has no touch before it: '(none)' takes its conversion in every model."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "store purchase revenue=80")
    con = build(settings, inputs)
    for model in MODELS:
        assert _credits(con, model) == pytest.approx({"(none)": 1.0}), model
        assert _credits(con, model, "campaign", "revenue") == pytest.approx({"(none)": 80.0}), model


def test_touches_after_the_first_conversion_earn_nothing(settings):
    """An e-mail and a second purchase after the first one: credit and revenue stay with the first 50."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click", "web page_view", "web purchase revenue=50", "email email_open",
                   "web purchase revenue=30")
    con = build(settings, inputs)
    assert _credits(con, "linear") == {"social": 0.5, "web": 0.5}
    assert sum(_credits(con, "linear", column="revenue").values()) == 50.0


def test_linear_gives_equal_credit_per_touch_repeats_included(settings):
    """web, web, social, web, then the purchase: the web earns 3/4, social 1/4."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "web page_view", "web page_view", "social ad_click", "web page_view",
                   "web purchase revenue=20")
    con = build(settings, inputs)
    assert _credits(con, "linear") == {"web": 0.75, "social": 0.25}


def test_time_decay_halves_the_weight_per_half_life(settings):
    """An e-mail 7 days (one half-life) before the social click weighs half as much: 1/3 and 2/3."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "email email_open h=0", "social ad_click h=0 d=7", "web purchase h=1 d=7")
    con = build(settings, inputs)
    assert _credits(con, "time_decay") == pytest.approx({"email": 1 / 3, "social": 2 / 3})


def test_time_decay_half_life_comes_from_settings(settings):
    """With a 3.5-day half-life the same e-mail weighs 1/4: 1/5 and 4/5."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "email email_open h=0", "social ad_click h=0 d=7", "web purchase h=0 d=7")
    con = build(settings, inputs, attribution_half_life_days=3.5)
    assert _credits(con, "time_decay")["email"] == pytest.approx(1 / 5)


def test_position_based_gives_40_20_40(settings):
    """Four touches before the purchase: 40% to the first, 40% to the last, 10% to each of the two between."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click", "email email_open", "store store_visit", "web page_view",
                   "web purchase")
    con = build(settings, inputs)
    credits = _credits(con, "position_based")
    assert credits == pytest.approx({"social": 0.4, "email": 0.1, "store": 0.1, "web": 0.4})


def test_position_based_splits_two_touches_evenly_and_gives_one_touch_everything(settings):
    """Two touches 50/50; a one-touch journey's channel takes its whole conversion."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "email email_open", "web page_view", "web purchase")
    inputs.journey("j2", "p2", "store store_visit", "store purchase")
    con = build(settings, inputs)
    assert _credits(con, "position_based") == pytest.approx({"email": 0.5, "web": 0.5, "store": 1.0})


def _markov_paths() -> Inputs:
    """Three journeys, two converting (the purchase is not a state):

        start > social > web > conversion (purchase 30)
        start > social > email > null
        start > email > web > conversion (purchase 60)
    """
    inputs = Inputs()
    inputs.journey("a", "pa", "social ad_click", "web page_view", "web purchase revenue=30")
    inputs.journey("b", "pb", "social ad_click", "email email_open")
    inputs.journey("c", "pc", "email email_open", "web page_view", "web purchase revenue=60")
    return inputs


def test_markov_removal_effects_on_three_paths(settings):
    """Removal effects worked out by hand from the transition probabilities.

    start > social 2/3, start > email 1/3; social > web 1/2, social > email 1/2;
    email > web 1/2, email > null 1/2; web > conversion 1.
    P(conv | web) = 1, P(conv | email) = 1/2, P(conv | social) = 1/2 + 1/2 * 1/2 = 3/4,
    P(conv) = 2/3 * 3/4 + 1/3 * 1/2 = 2/3.
    Without social: 1/3 * 1/2 = 1/6, effect 1 - (1/6)/(2/3) = 3/4.
    Without email: social converts 1/2, so 2/3 * 1/2 = 1/3, effect 1 - (1/3)/(2/3) = 1/2.
    Without web: nothing converts, effect 1.
    """
    con = build(settings, _markov_paths())
    assert _credits(con, "markov", column="removal_effect") == pytest.approx({"social": 0.75, "email": 0.5, "web": 1.0})


def test_markov_credit_is_the_normalised_removal_effect(settings):
    """Effects 3/4, 1/2, 1 sum to 9/4: shares 1/3, 2/9, 4/9 of 2 conversions and 90 revenue."""
    con = build(settings, _markov_paths())
    assert _credits(con, "markov", column="share") == pytest.approx({"social": 1 / 3, "email": 2 / 9, "web": 4 / 9})
    assert _credits(con, "markov") == pytest.approx({"social": 2 / 3, "email": 4 / 9, "web": 8 / 9})
    assert _credits(con, "markov", column="revenue") == pytest.approx({"social": 30.0, "email": 20.0, "web": 40.0})


def test_markov_journeys_no_campaign_reached_convert_at_their_own_rate(settings):
    """Two spring journeys convert; of three no campaign reached, one converts: paths spring > conversion
    (2), (none) > conversion (1), (none) > null (2).

    start > spring 2/5, start > (none) 3/5; spring converts 1, (none) 1/3; P(conv) = 2/5 + 1/5 = 3/5.
    Without spring 1/5: effect 2/3; without (none) 2/5: effect 1/3; shares 2/3 and 1/3 of 3 conversions.
    """
    inputs = Inputs()
    inputs.journey("a", "pa", "social ad_click campaign=spring", "web purchase")
    inputs.journey("b", "pb", "email email_open campaign=spring", "web purchase")
    inputs.journey("c", "pc", "web page_view", "web purchase")
    inputs.journey("d", "pd", "web page_view")
    inputs.journey("e", "pe", "store store_visit", "web page_view")
    con = build(settings, inputs)
    assert _credits(con, "markov", "campaign", "removal_effect") == pytest.approx({"spring": 2 / 3, "(none)": 1 / 3})
    assert _credits(con, "markov", "campaign") == pytest.approx({"spring": 2.0, "(none)": 1.0})


def test_shares_sum_to_one_per_model_and_dimension(settings):
    """Every model hands out exactly the conversions there are, for channels and for campaigns."""
    inputs = _markov_paths()
    inputs.journey("d", "pd", "social ad_click campaign=spring", "email email_open campaign=news", "store store_visit",
                   "web page_view", "web purchase revenue=10 d=3")
    inputs.journey("e", "pe", "store purchase")
    con = build(settings, inputs)
    totals = rows(con, "select model, dimension, sum(share) as share, sum(conversions) as conversions, "
                       "sum(revenue) as revenue from marts.attribution group by all")
    assert len(totals) == 12
    for total in totals:
        assert (total["share"], total["conversions"], total["revenue"]) == pytest.approx((1.0, 4.0, 100.0)), total


def test_no_conversions_leave_an_empty_table(settings):
    """Journeys that never convert give nothing to share out: zero rows, not an error."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "social ad_click", "web page_view")
    con = build(settings, inputs)
    assert rows(con, "select * from marts.attribution") == []


def test_removal_effects_ignore_self_loops():
    """Repeating a state (web > web) changes when, not whether, a path converts: same effects as without."""
    looped = pd.DataFrame({
        "from_state": [None, None, "web", "web", "web", "email"],
        "to_state": ["web", "email", "web", None, None, None],
        "absorbed_by": [None, None, None, "conversion", "null", "null"],
        "n": [2, 1, 5, 1, 1, 1],
    })
    # P(conv) = 2/3 * 1/2 = 1/3; without web 0 (effect 1); without email still 1/3 (effect 0).
    assert removal_effects(looped).to_dict() == pytest.approx({"web": 1.0, "email": 0.0})
