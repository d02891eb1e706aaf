"""Which attempt a person counts by, and how ties and repeated steps are read (ordered funnels).

Mixpanel (docs, "Funnels: advanced", re-entry): "For the first step in a funnel, if there are multiple
entries prior to step 2, we consider the most recent entry" and "we consider the first converted funnel
only"; PostHog's funnel UDF keeps the latest entry per step and the first attempt to reach the deepest
step. PostHog docs: a step listed twice must happen twice.
"""

from __future__ import annotations

import duckdb
import pytest

from journeys.transforms.funnel import step_funnel
from tests.metrics_helpers import touchpoints, write_journey_model

STEPS = ["product_view", "add_to_cart", "purchase"]
pytestmark = pytest.mark.filterwarnings("ignore:'purchase' never occurs")  # most cases stop before buying


def funnel(tmp_path, lines, steps=STEPS, **kwargs):
    path = tmp_path / "warehouse.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_journey_model(path, touchpoints(*lines))
    con = duckdb.connect(str(path), read_only=True)
    try:
        return step_funnel(con, steps, **kwargs)
    finally:
        con.close()


def test_the_most_recent_entry_before_the_next_step_is_timed(tmp_path):
    """A -> A -> A -> B: views at 10:00, 10:10, 10:20, cart at 10:30: 600 s to cart, not 1800."""
    lines = ["p1 j1 2025-03-03 10:00 web product_view", "p1 j1 2025-03-03 10:10 web product_view",
             "p1 j1 2025-03-03 10:20 web product_view", "p1 j1 2025-03-03 10:30 web add_to_cart"]
    frame = funnel(tmp_path, lines)
    assert frame["median_time_from_previous_s"].tolist()[1] == 600.0


def test_the_first_conversion_is_timed(tmp_path):
    """A -> B -> A -> B: carts 5 min after the 10:00 view and 30 min after the 11:00 one: 300 s."""
    lines = ["p1 j1 2025-03-03 10:00 web product_view", "p1 j1 2025-03-03 10:05 web add_to_cart",
             "p1 j1 2025-03-03 11:00 web product_view", "p1 j1 2025-03-03 11:30 web add_to_cart"]
    frame = funnel(tmp_path, lines)
    assert frame["n_reached"].tolist() == [1, 1, 0]
    assert frame["median_time_from_previous_s"].tolist()[1] == 300.0


def test_the_deepest_attempt_counts_even_if_it_started_later(tmp_path):
    """The 09:00 view leads to a cart only (no purchase within 1 h); the 12:00 one to a purchase: 1, 1, 1,
    timed from 12:00 (10 min to cart, 20 min to purchase)."""
    lines = ["p1 j1 2025-03-03 09:00 web product_view", "p1 j1 2025-03-03 09:10 web add_to_cart",
             "p1 j1 2025-03-03 12:00 web product_view", "p1 j1 2025-03-03 12:10 web add_to_cart",
             "p1 j1 2025-03-03 12:30 web purchase"]
    frame = funnel(tmp_path, lines, window="1h")
    assert frame["n_reached"].tolist() == [1, 1, 1]
    assert frame["median_time_from_previous_s"].tolist()[1:] == [600.0, 1200.0]


def test_events_at_the_same_instant_are_taken_in_funnel_order(tmp_path):
    """A cart and a view at the very same time (the cart first in the data) count as view then cart, as
    PostHog orders same-timestamp events by step: 1, 1, 0 in ordered and in strict order."""
    lines = ["p1 j1 2025-03-03 10:00 web add_to_cart", "p1 j1 2025-03-03 10:00 web product_view"]
    assert funnel(tmp_path, lines)["n_reached"].tolist() == [1, 1, 0]
    assert funnel(tmp_path / "strict", lines, order="strict")["n_reached"].tolist() == [1, 1, 0]


def test_a_step_listed_twice_must_happen_twice(tmp_path):
    """view -> cart -> view: p1 views again after the cart (3 steps); p2 does not (2)."""
    lines = ["p1 j1 2025-03-03 10:00 web product_view", "p1 j1 2025-03-03 10:05 web add_to_cart",
             "p1 j1 2025-03-03 10:10 web product_view",
             "p2 j2 2025-03-03 10:00 web product_view", "p2 j2 2025-03-03 10:05 web add_to_cart"]
    frame = funnel(tmp_path, lines, steps=["product_view", "add_to_cart", "product_view"])
    assert frame["n_reached"].tolist() == [2, 2, 1]


def test_breakdown_is_the_first_touch_on_any_step(tmp_path):
    """PostHog's default attribution, "first touchpoint": p1 first viewed on app, then converted on web:
    p1 is in app (1, 1, 1); web has nobody."""
    lines = ["p1 j1 2025-03-01 10:00 app product_view",
             "p1 j1 2025-03-03 10:00 web product_view", "p1 j1 2025-03-03 10:05 web add_to_cart",
             "p1 j1 2025-03-03 10:10 web purchase"]
    frame = funnel(tmp_path, lines, by="channel")
    assert frame["channel"].unique().tolist() == ["app"]
    assert frame["n_reached"].tolist() == [1, 1, 1]


def test_since_ignores_earlier_events(tmp_path):
    """since 3 March: the 1 March view on app is ignored, so p1 is in web and its attempt starts on the 3rd."""
    import datetime as dt

    lines = ["p1 j1 2025-03-01 10:00 app product_view", "p1 j1 2025-03-03 10:00 web add_to_cart",
             "p1 j1 2025-03-03 10:05 web product_view", "p1 j1 2025-03-03 10:10 web add_to_cart"]
    frame = funnel(tmp_path, lines, by="channel", since=dt.datetime(2025, 3, 3))
    assert frame["channel"].unique().tolist() == ["web"]
    assert frame["n_reached"].tolist() == [1, 1, 0]
