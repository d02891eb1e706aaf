"""Funnel exclusions as PostHog defines them (posthog/hogql_queries/insights/funnels/test/test_funnel.py and
test_funnel_unordered.py; docs: "These people are completely excluded from the entire funnel").

PostHog numbers steps from 0 (funnel_from_step 0, funnel_to_step 1); here they are numbered from 1
(`x:1-2`). Each test is one of PostHog's cases on a tiny table, with its figures worked out by hand.
"""

from __future__ import annotations

import duckdb
import pytest

from journeys.transforms.funnel import FunnelError, step_funnel
from tests.metrics_helpers import touchpoints, write_journey_model

SIGNUP_PAID = ["signed_up", "paid"]
FIVE = ["signed_up", "pageview", "insight_viewed", "invite_teammate", "pageview2"]


def counts(tmp_path, lines, steps, **kwargs) -> list[int]:
    path = tmp_path / "warehouse.duckdb"
    if not path.exists():
        write_journey_model(path, touchpoints(*lines))
    con = duckdb.connect(str(path), read_only=True)
    try:
        return step_funnel(con, steps, **kwargs)["n_reached"].tolist()
    finally:
        con.close()


def test_a_person_with_an_excluded_event_between_the_steps_is_removed_from_every_step(tmp_path):
    """test_funnel_exclusions_full_window: p2 does x between signing up and paying, so p2 is not
    even counted as signed up: 2 (p1, p3) at both steps, not 3 and 2."""
    lines = ["p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web paid",
             "p2 j2 2021-05-01 03:00 web signed_up", "p2 j2 2021-05-01 03:30 web x", "p2 j2 2021-05-01 04:00 web paid",
             "p3 j3 2021-05-01 05:00 web signed_up", "p3 j3 2021-05-01 06:00 web paid"]
    assert counts(tmp_path, lines, SIGNUP_PAID, window="14d", exclude=["x"]) == [2, 2]


def test_an_excluded_event_inside_the_window_counts_even_if_the_next_step_never_happens(tmp_path):
    """test_funnel_exclusion_no_end_event, window 1 day: p3 does x an hour after signing up and never
    pays: removed. p4 does x 25 hours after signing up, after its window ended: kept at step 1.
    Step 1: p1, p4 = 2; step 2: p1 = 1 (p2 did x before paying: removed)."""
    lines = ["p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web paid",
             "p2 j2 2021-05-01 03:00 web signed_up", "p2 j2 2021-05-01 03:30 web x", "p2 j2 2021-05-01 04:00 web paid",
             "p3 j3 2021-05-01 05:00 web signed_up", "p3 j3 2021-05-01 06:00 web x",
             "p4 j4 2021-05-01 07:00 web signed_up", "p4 j4 2021-05-02 08:00 web x"]
    assert counts(tmp_path, lines, SIGNUP_PAID, window="1d", exclude=["x:1-2"]) == [2, 1]


NO_PAID = pytest.mark.filterwarnings("ignore:'paid' never occurs")
"""These cases never reach step 2, as in PostHog's ("step two" never happens): the warning is expected."""


@NO_PAID
@pytest.mark.parametrize("times, expected", [
    (("00:00:00 web signed_up", "00:00:01 web x", "00:00:31 web signed_up"), [1, 0]),
    (("00:00:00 web signed_up", "00:00:31 web signed_up", "00:00:32 web x"), [1, 0]),
    (("00:00:00 web signed_up", "00:00:01 web signed_up", "00:00:02 web x"), [0, 0]),
])
def test_exclusion_discards_attempts_and_a_person_counts_through_any_attempt_left(tmp_path, times, expected):
    """test_funnel_exclusion_multiple_possible_no_end_event1-3, window 10 s: (1) the second sign-up
    starts a clean attempt after x: counted; (2) x is 32 s after the first sign-up (its window ended)
    and 1 s after the second: the first attempt is left, counted; (3) x is inside both windows: removed."""
    lines = [f"p1 j1 2021-05-01 {t}" for t in times]
    assert counts(tmp_path, lines, SIGNUP_PAID, window="10s", exclude=["x:1-2"]) == expected


ADVANCED = [
    "p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web pageview", "p1 j1 2021-05-01 03:00 web x",
    "p1 j1 2021-05-01 04:00 web insight_viewed", "p1 j1 2021-05-01 04:30 web x",
    "p1 j1 2021-05-01 05:00 web invite_teammate", "p1 j1 2021-05-01 05:30 web x", "p1 j1 2021-05-01 06:00 web pageview2",
    "p2 j2 2021-05-01 01:00 web signed_up", "p2 j2 2021-05-01 02:00 web pageview",
    "p2 j2 2021-05-01 04:00 web insight_viewed", "p2 j2 2021-05-01 04:30 web x",
    "p2 j2 2021-05-01 05:00 web invite_teammate", "p2 j2 2021-05-01 05:30 web x", "p2 j2 2021-05-01 06:00 web pageview2",
    "p3 j3 2021-05-01 01:00 web signed_up", "p3 j3 2021-05-01 01:30 web x", "p3 j3 2021-05-01 02:00 web pageview",
    "p3 j3 2021-05-01 04:00 web insight_viewed", "p3 j3 2021-05-01 05:00 web invite_teammate",
    "p3 j3 2021-05-01 05:30 web x", "p3 j3 2021-05-01 06:00 web pageview2",
]


@pytest.mark.parametrize("exclusion, expected", [
    ("x:1-2", [2] * 5),   # p3's x at 01:30 is between steps 1 and 2: p1, p2 left
    ("x:2-3", [2] * 5),   # p1's x at 03:00 is between steps 2 and 3: p2, p3 left
    ("x:3-4", [1] * 5),   # p1's and p2's x at 04:30: p3 left
    ("x:4-5", [0] * 5),   # everyone's x at 05:30: nobody left, not even at step 1
    ("x:2-4", [1] * 5),   # p1 (03:00) and p2 (04:30): p3 left
])
def test_an_exclusion_applies_only_between_its_steps(tmp_path, exclusion, expected):
    """test_advanced_funnel_exclusions_between_steps: three persons complete all five steps, each
    with x in different gaps; each range removes exactly those with an x inside it."""
    assert counts(tmp_path, ADVANCED, FIVE, window="14d", exclude=[exclusion]) == expected


FOUR_PEOPLE_TWO_EXCLUSIONS = [
    # PostHog's test_advanced_funnel_multiple_exclusions_between_steps, persons p1-p4
    "p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web x", "p1 j1 2021-05-01 03:00 web pageview",
    "p1 j1 2021-05-01 04:00 web insight_viewed", "p1 j1 2021-05-01 04:30 web y",
    "p1 j1 2021-05-01 05:00 web invite_teammate", "p1 j1 2021-05-01 06:00 web pageview2",
    "p2 j2 2021-05-01 01:00 web signed_up", "p2 j2 2021-05-01 01:30 web y", "p2 j2 2021-05-01 02:00 web pageview",
    "p2 j2 2021-05-01 04:00 web insight_viewed", "p2 j2 2021-05-01 04:30 web y",
    "p2 j2 2021-05-01 05:00 web invite_teammate", "p2 j2 2021-05-01 05:30 web x", "p2 j2 2021-05-01 06:00 web pageview2",
    "p3 j3 2021-05-01 01:00 web signed_up", "p3 j3 2021-05-01 01:30 web x", "p3 j3 2021-05-01 02:00 web pageview",
    "p3 j3 2021-05-01 04:00 web insight_viewed", "p3 j3 2021-05-01 05:00 web invite_teammate",
    "p3 j3 2021-05-01 05:30 web x", "p3 j3 2021-05-01 06:00 web pageview2",
    "p4 j4 2021-05-01 01:00 web signed_up", "p4 j4 2021-05-01 02:00 web pageview",
    "p4 j4 2021-05-01 04:00 web insight_viewed", "p4 j4 2021-05-01 05:00 web invite_teammate",
    "p4 j4 2021-05-01 06:00 web pageview2",
]


def test_several_exclusions_each_with_its_own_steps(tmp_path):
    """test_advanced_funnel_multiple_exclusions_between_steps: x between steps 1-2 and y between 3-4.
    p1 has x after signing up, p2 y between insight and invite, p3 x after signing up: only p4 is left."""
    lines = FOUR_PEOPLE_TWO_EXCLUSIONS
    assert counts(tmp_path, lines, FIVE, window="14d", exclude=["x:1-2", "y:3-4"]) == [1] * 5


@NO_PAID
def test_in_strict_order_only_the_event_that_ends_the_attempt_can_exclude_it(tmp_path):
    """strict, x excluded: p1 signs up and does x next: removed. p2 signs up, then a page_view ends
    its attempt, then x: the attempt had already ended, so p2 stays at step 1. Step 1: p2 alone."""
    lines = ["p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 01:10 web x",
             "p2 j2 2021-05-01 01:00 web signed_up", "p2 j2 2021-05-01 01:10 web page_view",
             "p2 j2 2021-05-01 01:20 web x"]
    assert counts(tmp_path, lines, SIGNUP_PAID, window="14d", order="strict", exclude=["x"]) == [1, 0]


def test_any_order_an_exclusion_discards_the_attempts_it_interrupts(tmp_path):
    """test_funnel_exclusions_full_window (unordered): p2 signs up, does x, then pays. The attempt
    from the sign-up is discarded; the one from the payment (one step, nothing excluded after it) is
    left, so p2 counts at step 1: 3 persons did one step, 2 (p1, p3) both."""
    lines = ["p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web paid",
             "p2 j2 2021-05-01 03:00 web signed_up", "p2 j2 2021-05-01 03:30 web x", "p2 j2 2021-05-01 04:00 web paid",
             "p3 j3 2021-05-01 05:00 web signed_up", "p3 j3 2021-05-01 06:00 web paid"]
    assert counts(tmp_path, lines, SIGNUP_PAID, window="14d", order="any", exclude=["x"]) == [3, 2]


def test_any_order_an_excluded_event_after_the_last_step_changes_nothing(tmp_path):
    """test_unordered_exclusion_after_completion: signed up, paid, left, then x: complete before x: 1, 1, 1."""
    lines = ["p1 j1 2021-05-01 01:00 web signed_up", "p1 j1 2021-05-01 02:00 web paid",
             "p1 j1 2021-05-01 03:00 web left", "p1 j1 2021-05-01 04:00 web x", "p1 j1 2021-05-01 05:00 web left"]
    assert counts(tmp_path, lines, ["signed_up", "paid", "left"], window="14d", order="any", exclude=["x"]) == [1, 1, 1]


def test_any_order_with_two_exclusions_over_five_steps(tmp_path):
    """test_advanced_funnel_multiple_exclusions_between_steps (unordered): p1's last clean attempt is
    invite + pageview2 (2 steps); p2, p3 and p5 only keep their final pageview2 (1); p4 does all 5.
    Steps: 5, 2 (p1, p4), 1, 1, 1."""
    lines = [
        *FOUR_PEOPLE_TWO_EXCLUSIONS,
        "p5 j5 2021-05-01 01:00 web signed_up", "p5 j5 2021-05-01 01:30 web x", "p5 j5 2021-05-01 02:00 web pageview",
        "p5 j5 2021-05-01 02:30 web x", "p5 j5 2021-05-01 04:00 web insight_viewed", "p5 j5 2021-05-01 04:30 web y",
        "p5 j5 2021-05-01 05:00 web invite_teammate", "p5 j5 2021-05-01 05:30 web x", "p5 j5 2021-05-01 06:00 web pageview2",
    ]
    assert counts(tmp_path, lines, FIVE, window="14d", order="any", exclude=["x", "y"]) == [5, 2, 1, 1, 1]


@pytest.mark.parametrize("order, exclusion, message", [
    ("ordered", "x:1-1", "FROM-TO"),   # test_funnel_exclusions_invalid_params: from == to
    ("ordered", "x:2-1", "FROM-TO"),   # from after to
    ("ordered", "x:2-3", "FROM-TO"),   # past the last step (2 steps)
    ("ordered", "x:0-2", "FROM-TO"),   # steps are numbered from 1
    ("any", "x:1-2", "whole funnel"),  # partial windows not allowed for unordered (3 steps)
    ("ordered", "paid", "both a step and excluded"),
])
def test_impossible_exclusions_are_refused(tmp_path, order, exclusion, message):
    """Each raises FunnelError saying why, before anything is read."""
    steps = SIGNUP_PAID + (["blah"] if order == "any" else [])
    with pytest.raises(FunnelError, match=message):
        counts(tmp_path, ["p1 j1 2021-05-01 01:00 web signed_up"], steps, order=order, exclude=[exclusion])
