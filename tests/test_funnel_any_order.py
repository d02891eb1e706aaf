"""`any` order funnels as PostHog's unordered funnels (posthog/hogql_queries/insights/funnels/test/
test_funnel_unordered.py; docs: "Any order - steps can be completed in any sequence"): step k counts
persons who did any k of the n steps within the window, and times follow the order they did them."""

from __future__ import annotations

import duckdb
import pytest

from journeys.transforms.funnel import step_funnel
from tests.metrics_helpers import touchpoints, write_journey_model

FOUR = ["signed_up", "pageview", "insight_viewed", "crying"]
THREE = ["signed_up", "pageview", "insight_viewed"]


def funnel(tmp_path, lines, steps, **kwargs):
    path = tmp_path / "warehouse.duckdb"
    write_journey_model(path, touchpoints(*lines))
    con = duckdb.connect(str(path), read_only=True)
    try:
        return step_funnel(con, steps, order="any", **kwargs)
    finally:
        con.close()


def persons(*journeys: str) -> list[str]:
    """'p1: a b c' -> one line per event, an hour apart from 01:00 on 2021-05-01."""
    lines = []
    for journey in journeys:
        person, _, events = journey.partition(":")
        lines += [f"{person} j{person} 2021-05-01 {hour + 1:02d}:00 web {event}" for hour, event in enumerate(events.split())]
    return lines


@pytest.mark.filterwarnings("ignore:'blaah' never occurs")
def test_step_k_counts_any_k_of_the_steps_whichever_they_are(tmp_path):
    """test_big_multi_step_unordered_funnel: 8 persons did at least one step; 5 did two different
    ones (p2, p3, p4, p5, p8), 3 did three (p3, p4, p5) and only p5 all four, in its own order."""
    lines = persons("p1: signed_up", "p2: pageview crying", "p3: signed_up pageview blaah insight_viewed",
                    "p4: insight_viewed crying signed_up", "p5: pageview signed_up crying insight_viewed",
                    "p6: blaah insight_viewed", "p7: pageview blaah", "p8: insight_viewed pageview")
    assert funnel(tmp_path, lines, FOUR, window="14d")["n_reached"].tolist() == [8, 5, 3, 1]


def test_steps_are_timed_in_the_order_done_from_the_first_completion(tmp_path):
    """test_basic_unordered_funnel_conversion_times, window 1 day: p2 takes 1 h to its second step;
    p3 completes twice (2 h + 2 h on 2 May, 3 h + 3 h on 3 May) and counts by the first. Medians:
    second step (3600, 7200) -> 5400 s; third step 7200 s; from the first step 14400 s."""
    lines = ["p1 j1 2021-05-02 00:00 web signed_up",
             "p2 j2 2021-05-02 00:00 web pageview", "p2 j2 2021-05-02 01:00 web signed_up",
             "p3 j3 2021-05-02 00:00 web insight_viewed", "p3 j3 2021-05-02 02:00 web signed_up",
             "p3 j3 2021-05-02 04:00 web pageview", "p3 j3 2021-05-03 00:00 web pageview",
             "p3 j3 2021-05-03 03:00 web insight_viewed", "p3 j3 2021-05-03 06:00 web signed_up"]
    frame = funnel(tmp_path, lines, THREE, window="1d")
    assert frame["n_reached"].tolist() == [3, 2, 1]
    assert frame["median_time_from_previous_s"].tolist()[1:] == [5400.0, 7200.0]
    assert frame["median_time_from_start_s"].tolist()[2] == 14400.0


def test_all_steps_must_fall_within_one_window(tmp_path):
    """window 2 h: p1's three steps span 3 h, so at most two fall in one window: 1, 1, 0."""
    lines = persons("p1: signed_up pageview blaah insight_viewed")
    frame = funnel(tmp_path, [line for line in lines if "blaah" not in line], THREE, window="2h")
    assert frame["n_reached"].tolist() == [1, 1, 0]
