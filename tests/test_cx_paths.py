"""marts.path_variants and marts.step_transitions: frequent paths and Sankey-ready transitions."""

from __future__ import annotations

import pytest

from tests.cx_inputs import Inputs, build_marts, one, rows

MARTS = ("marts.path_variants", "marts.step_transitions")


def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)


def _journeys() -> Inputs:
    inputs = Inputs()
    inputs.journey("j1", "p1", "web page_view h=0", "web page_view h=1", "web product_view h=2", "web purchase h=3")
    inputs.journey("j2", "p2", "web page_view h=0", "mobile_app page_view h=1", "web product_view h=2", "web purchase h=5")
    inputs.journey("j3", "p3", "web page_view h=0", "web product_view h=4")
    inputs.journey("j4", "p4", "web page_view", "web review_read", "web product_view", journey_type="branching")
    return inputs


def test_path_collapses_consecutive_repeats_of_an_event_type(settings):
    """page_view, page_view (any channel), product_view, purchase is the path 'page_view > product_view > purchase'."""
    con = build(settings, _journeys())
    top = one(con, "select * from marts.path_variants where journey_type = 'linear' and rank = 1")
    assert (top["path"], top["n_steps"], top["n_journeys"]) == ("page_view > product_view > purchase", 3, 2)


def test_conversion_rate_and_share_per_path_variant(settings):
    """Of 3 linear journeys, 2 share the converting path (share 2/3, rate 1) and 1 stops at product_view (rate 0)."""
    con = build(settings, _journeys())
    variants = {r["path"]: r for r in rows(con, "select * from marts.path_variants where journey_type = 'linear'")}
    assert variants["page_view > product_view > purchase"]["share_of_journeys"] == pytest.approx(2 / 3)
    assert variants["page_view > product_view > purchase"]["conversion_rate"] == 1.0
    assert (variants["page_view > product_view"]["rank"], variants["page_view > product_view"]["conversion_rate"]) == (2, 0.0)


def test_all_row_ranks_paths_over_every_journey_type(settings):
    """journey_type 'all' holds every journey: 4 journeys in 3 variants."""
    con = build(settings, _journeys())
    assert one(con, "select sum(n_journeys) as n, count(*) as variants from marts.path_variants where journey_type = 'all'") \
        == {"n": 4, "variants": 3}


def test_long_paths_keep_their_first_steps(settings):
    """With path_variant_max_steps = 2, 'page_view > review_read > product_view' becomes 'page_view > review_read > ...'."""
    con = build(settings, _journeys(), path_variant_max_steps=2)
    row = one(con, "select * from marts.path_variants where journey_type = 'branching'")
    assert (row["path"], row["is_truncated"], row["n_steps"]) == ("page_view > review_read > ...", True, 2)


def test_transitions_run_from_start_to_an_end_or_drop_node(settings):
    """Converted journeys that are over end at '(end)', unconverted ones at '(drop)', recent ones at '(ongoing)'."""
    inputs = _journeys()
    inputs.journey("j5", "p5", "web page_view", "web product_view", start_h=140 * 24)
    con = build(settings, inputs)
    links = {(r["source"], r["target"]): r["n"] for r in rows(con, "select * from marts.step_transitions")}
    assert links[("(start)", "page_view")] == 5
    assert links[("purchase", "(end)")] == 2
    assert links[("product_view", "(drop)")] == 2
    assert links[("product_view", "(ongoing)")] == 1
    assert ("page_view", "page_view") not in links


def test_transition_time_is_the_median_time_spent_at_the_source(settings):
    """page_view to product_view took 2 h, 2 h (timed from the first of two page views) and 4 h: median 7,200 s."""
    con = build(settings, _journeys())
    link = one(con, "select * from marts.step_transitions where source = 'page_view' and target = 'product_view'")
    assert (link["n"], link["n_journeys"], link["median_seconds"]) == (3, 3, 7200)


def test_transition_shares_out_of_each_source_sum_to_one(settings):
    """share_of_source is a transition probability: it sums to 1 over each source's targets."""
    con = build(settings, _journeys())
    sums = rows(con, "select source, sum(share_of_source) as total from marts.step_transitions group by source")
    assert all(r["total"] == pytest.approx(1.0) for r in sums)


def test_recent_journey_ending_in_an_exit_is_over(settings):
    """An unsubscribe 5 days before as_of ends the journey: '(end)' after a purchase, not '(ongoing)'."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "web purchase", "email unsubscribe", start_h=145 * 24)
    con = build(settings, inputs)
    assert one(con, "select target from marts.step_transitions where source = 'unsubscribe'")["target"] == "(end)"
