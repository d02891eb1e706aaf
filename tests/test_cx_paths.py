"""marts.path_variants and marts.step_transitions: frequent paths and Sankey-ready transitions.

The collapsed paths and their ranking, and the end nodes of the transitions, are dbt unit tests
beside the models (transforms/models/marts/path_variants.yml, step_transitions.yml; run by
tests/test_dbt_unit_tests.py)."""

from __future__ import annotations

import pytest

from tests.cx_inputs import Inputs, build_marts, one, rows

MARTS = ("marts.path_steps", "marts.path_variants", "marts.step_transitions")


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


def test_long_paths_keep_their_first_steps(settings):
    """With path_variant_max_steps = 2, 'page_view > review_read > product_view' becomes 'page_view > review_read > ...'."""
    con = build(settings, _journeys(), path_variant_max_steps=2)
    row = one(con, "select * from marts.path_variants where journey_type = 'branching'")
    assert (row["path"], row["is_truncated"], row["n_steps"]) == ("page_view > review_read > ...", True, 2)


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
