"""Journey shapes: the four rules, their edge cases, and the reason each journey gives."""

import numpy as np

from journeys.settings import Settings
from journeys.transforms.classification import walk
from tests.helpers import build, build_with, events, one, rows, warehouse


def classified(tmp_path, *touchpoints, **overrides):
    """The one journey of customer c1 after building from these touchpoints."""
    con = warehouse(tmp_path)
    events(con, touchpoints)
    build(con, **overrides)
    return one(con, "select * from marts.journeys")


def shape(journey):
    return journey["journey_type"], journey["classification_reason"]


def counts(journey):
    return {k: journey[k] for k in ("n_steps", "n_returns", "n_restarts", "n_detours", "n_cycles")}


# ---- the four examples of the issue -------------------------------------------------------------

def test_a_forward_path_on_one_channel_is_linear(tmp_path):
    """page_view -> product_view -> add_to_cart -> purchase on the web."""
    journey = classified(tmp_path, "web page_view", "web product_view", "web add_to_cart", "web purchase 30")
    assert shape(journey) == ("linear", "one forward path")
    assert counts(journey) == {"n_steps": 4, "n_returns": 0, "n_restarts": 0, "n_detours": 0, "n_cycles": 1}


def test_a_side_path_before_buying_is_branching(tmp_path):
    """product_view -> review_read -> checkout_start -> purchase: one detour."""
    journey = classified(tmp_path, "web product_view", "web review_read", "web checkout_start", "web purchase 30")
    assert shape(journey) == ("branching", "1 detour: review_read")
    assert journey["n_detours"] == 1


def test_renewals_on_two_channels_are_cyclical(tmp_path):
    """subscription_start, usage, notice, renewal, usage, notice, renewal: 2 restarts, 3 cycles."""
    journey = classified(
        tmp_path,
        "web subscription_start", "web product_usage", "email renewal_notice", "web subscription_renewed",
        "web product_usage", "email renewal_notice", "web subscription_renewed",
    )
    assert shape(journey) == ("cyclical", "2 restarts after conversion (3 cycles)")
    assert counts(journey) == {"n_steps": 7, "n_returns": 0, "n_restarts": 2, "n_detours": 0, "n_cycles": 3}


def test_going_back_before_buying_is_complex(tmp_path):
    """product_view -> add_to_cart -> product_view -> purchase: a return from decision to consideration."""
    journey = classified(tmp_path, "web product_view", "web add_to_cart", "web product_view", "web purchase 30")
    assert shape(journey) == ("complex", "returned from decision to consideration before converting")
    assert journey["n_returns"] == 1


# ---- rule 4: precedence and the channel rule ----------------------------------------------------

def test_three_channels_make_a_journey_complex(tmp_path):
    """A forward path over web, email and store is complex, channels listed in order of first use."""
    journey = classified(tmp_path, "web page_view", "email email_click", "web add_to_cart", "store purchase 30")
    assert shape(journey) == ("complex", "3 channels: web, email, store")
    assert journey["channels"] == ["web", "email", "store"]


def test_two_channels_do_not(tmp_path):
    """The same path over web and store only is linear."""
    journey = classified(tmp_path, "web page_view", "web product_view", "web add_to_cart", "store purchase 30")
    assert shape(journey) == ("linear", "one forward path")


def test_both_complex_reasons_are_given(tmp_path):
    """Three channels and a return: the reason names both."""
    journey = classified(tmp_path, "web product_view", "call_center add_to_cart", "store product_view")
    assert shape(journey) == ("complex", "3 channels: web, call_center, store; "
                                         "returned from decision to consideration before converting")


def test_returns_outrank_restarts(tmp_path):
    """A restart followed by a return within the new cycle is complex, not cyclical."""
    journey = classified(tmp_path, "web purchase 30", "web product_view", "web add_to_cart", "web product_view")
    # purchase (decision, converts) -> product_view: lower after a conversion = restart, cycle 2;
    # add_to_cart -> product_view: lower, cycle 2 has not converted = return.
    assert shape(journey) == ("complex", "returned from decision to consideration before converting")
    assert (journey["n_restarts"], journey["n_returns"], journey["n_cycles"]) == (1, 1, 2)


def test_restarts_outrank_detours(tmp_path):
    """A journey with a restart and a detour is cyclical."""
    journey = classified(tmp_path, "web purchase 30", "web delivery", "web review_read", "web add_to_cart")
    # purchase -> delivery (retention) -> review_read (consideration, lower, converted) = restart
    assert shape(journey) == ("cyclical", "1 restart after conversion (2 cycles)")
    assert journey["n_detours"] == 1


def test_several_returns_are_counted_in_the_reason(tmp_path):
    """Two returns: the reason counts them and names the first."""
    journey = classified(tmp_path, "web add_to_cart", "web product_view", "web add_to_cart", "web page_view")
    assert shape(journey) == (
        "complex", "2 returns to an earlier stage before converting, the first from decision to consideration")


# ---- rule 1: collapse ---------------------------------------------------------------------------

def test_consecutive_repeats_collapse_into_one_step(tmp_path):
    """Three page views in a row on the web are one step, and not revisits."""
    journey = classified(tmp_path, "web page_view", "web page_view", "web page_view", "web product_view")
    assert (journey["n_touchpoints"], journey["n_steps"], journey["n_detours"]) == (4, 2, 0)
    assert shape(journey) == ("linear", "one forward path")


def test_the_same_event_on_another_channel_is_its_own_step(tmp_path):
    """page_view on the web then in the app: two steps, but consecutive, so no revisit."""
    journey = classified(tmp_path, "web page_view", "mobile_app page_view")
    assert (journey["n_steps"], journey["n_detours"]) == (2, 0)


def test_repeats_are_flagged_on_the_steps(tmp_path):
    """journey_steps keeps every touchpoint and marks the collapsed ones."""
    con = warehouse(tmp_path)
    events(con, ["web page_view", "web page_view", "email page_view", "email page_view"])
    build(con)
    assert [r["is_repeat"] for r in rows(con, "select is_repeat from marts.journey_steps order by step_number")] == [
        False, True, False, True]


# ---- rule 3: detours ----------------------------------------------------------------------------

def test_a_non_consecutive_revisit_is_a_detour(tmp_path):
    """product_view, demo_request, product_view (same stage, so no return): the revisit is a detour."""
    journey = classified(tmp_path, "web product_view", "web demo_request", "web product_view", "web add_to_cart")
    assert shape(journey) == ("branching", "1 detour: product_view (revisit)")


def test_detours_are_listed_once_each_in_order(tmp_path):
    """compare, review_read, compare: three detours, two kinds, in order of first appearance."""
    journey = classified(tmp_path, "web product_view", "web compare", "web review_read", "web compare", "web purchase 9")
    assert shape(journey) == ("branching", "3 detours: compare, review_read")


def test_revisits_count_within_a_cycle_only(tmp_path):
    """Usage in the second cycle is not a revisit of usage in the first."""
    journey = classified(tmp_path, "web purchase 30", "web product_usage", "web add_to_cart", "web purchase 20",
                         "web product_usage")
    assert (journey["n_restarts"], journey["n_detours"]) == (1, 0)


# ---- edge cases ---------------------------------------------------------------------------------

def test_a_single_touchpoint_is_linear(tmp_path):
    """One page view: linear, one step."""
    journey = classified(tmp_path, "web page_view")
    assert shape(journey) == ("linear", "single touchpoint")
    assert counts(journey) == {"n_steps": 1, "n_returns": 0, "n_restarts": 0, "n_detours": 0, "n_cycles": 1}


def test_a_journey_without_conversion(tmp_path):
    """Abandoned cart: not converted, no conversion time, still linear."""
    journey = classified(tmp_path, "web page_view", "web product_view", "web add_to_cart")
    assert (journey["is_converted"], journey["first_converted_at"], journey["time_to_convert_s"],
            journey["n_conversions"]) == (False, None, None, 0)
    assert shape(journey) == ("linear", "one forward path")


def test_a_step_back_without_conversion_is_never_a_restart(tmp_path):
    """Going back down without buying is a return, however far."""
    journey = classified(tmp_path, "web delivery", "web page_view")
    assert (journey["n_returns"], journey["n_restarts"]) == (1, 0)


def test_unmapped_steps_are_skipped_by_the_walk(tmp_path):
    """add_to_cart, an unknown event, purchase: linear, the unknown event counted apart."""
    journey = classified(tmp_path, "web add_to_cart", "web coupon_applied", "web purchase 30")
    assert shape(journey) == ("linear", "one forward path")
    assert (journey["n_unmapped_touchpoints"], journey["n_steps"], journey["stages_reached"]) == (1, 3, ["decision"])


def test_an_unmapped_step_between_two_views_leaves_them_consecutive_for_the_walk(tmp_path):
    """product_view, unknown, product_view: the two views are consecutive walk steps, not a revisit."""
    journey = classified(tmp_path, "web product_view", "web coupon_applied", "web product_view")
    assert (journey["n_detours"], journey["n_steps"]) == (0, 3)


def test_a_journey_of_unmapped_events_only(tmp_path):
    """No stage reached: linear, with no highest stage."""
    journey = classified(tmp_path, "web coupon_applied", "web coupon_applied", "web wishlist_add")
    assert shape(journey) == ("linear", "no touchpoint maps to a stage")
    assert (journey["highest_stage"], journey["stages_reached"], journey["n_unmapped_touchpoints"]) == (None, [], 3)
    assert (journey["stages_reached_text"], journey["channels_text"]) == ("", "web")


def test_cycle_numbers_on_the_steps(tmp_path):
    """A restart starts cycle 2 at the step that steps back; unmapped steps carry the current cycle."""
    con = warehouse(tmp_path)
    events(con, ["web purchase 30", "web coupon_applied", "web product_view", "web purchase 12"])
    build(con)
    steps = rows(con, "select cycle_number, is_restart from marts.journey_steps order by step_number")
    assert [(s["cycle_number"], s["is_restart"]) for s in steps] == [(1, False), (1, False), (2, True), (2, False)]


# ---- thresholds ---------------------------------------------------------------------------------

def test_thresholds_come_from_settings(tmp_path):
    """With 4 channels needed for complex and 2 detours for branching, a 3-channel, 1-detour path is linear."""
    con = warehouse(tmp_path)
    events(con, ["web product_view", "email review_read", "store purchase 30"])
    build_with(con, Settings(journey_complex_min_channels=4, journey_branching_min_detours=2))
    assert shape(one(con, "select * from marts.journeys")) == ("linear", "one forward path")


# ---- the vectorised walk ------------------------------------------------------------------------

def _random_journeys(seed, n_journeys, max_length):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, max_length, n_journeys)
    journey = np.repeat(np.arange(n_journeys), lengths)
    step = np.concatenate([np.arange(1, n + 1) for n in lengths])
    n = len(journey)
    order = rng.permutation(n)  # the walk must not depend on row order
    return (journey[order], step[order], rng.integers(1, 6, n)[order], (rng.random(n) < 0.15)[order],
            (rng.random(n) < 0.85)[order], rng.integers(0, 70, n)[order])


def test_the_vectorised_walk_matches_the_one_journey_at_a_time_walk():
    """Step-major numpy and the plain loop give the same flags on random journeys (70 event types)."""
    inputs = _random_journeys(7, 300, 60)
    vectorised = walk(*inputs, scalar_below=1)
    looped = walk(*inputs, scalar_below=10**9)
    for name in vectorised:
        assert np.array_equal(vectorised[name], looped[name]), name


def test_a_very_long_journey_is_walked_quickly():
    """One 200,000-step journey beside 1,000 short ones finishes within a couple of seconds."""
    import time

    lengths = np.array([200_000] + [5] * 1_000)
    journey = np.repeat(np.arange(len(lengths)), lengths)
    step = np.concatenate([np.arange(1, n + 1) for n in lengths])
    rank = np.tile([1, 2, 3, 4, 2], len(journey) // 5)
    started = time.perf_counter()
    out = walk(journey, step, rank, rank == 3, np.ones(len(journey), bool), rank)
    assert time.perf_counter() - started < 2
    # ranks 1,2,3(converts),4,2, repeated: the 2 after the 4 restarts (a conversion came before it),
    # the 1 after it only returns; so steps 5, 10, ..., 200,000 restart: 40,000 restarts, 40,001 cycles
    assert out["cycle_number"][:200_000].max() == 40_001
