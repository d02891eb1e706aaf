"""Ad-hoc step funnels (transforms/funnel.py, `journeys funnel`): product_view -> add_to_cart -> purchase.

PostHog's cases for exclusions, any order and attempts are in tests/test_funnel_*.py.

All on 2025-03-03 unless said; persons are the unit:
  p1 web  product_view 10:00, add_to_cart 10:10, purchase 10:20             complete in every mode
  p2 web  product_view 10:00, page_view 10:05, add_to_cart 10:10, purchase 10:30
                                                                            a page_view in between
  p3 app  add_to_cart 10:00, product_view 10:01, purchase 10:02             steps out of order
  p4 web  product_view 10:00, add_to_cart 10:10; purchase 2025-03-12 10:00  (9 days later, another journey)
  p6 web  product_view 09:00, page_view 09:01, product_view 09:02, add_to_cart 09:03, purchase 09:04
                                                                            a second attempt after a page_view
"""

from __future__ import annotations

import argparse
import datetime as dt

import duckdb
import pytest

from journeys.cli import metrics_cmds
from journeys.transforms.funnel import FunnelError, FunnelWarning, parse_window, step_funnel
from tests.metrics_helpers import fresh_settings, touchpoints, write_journey_model

STEPS = ["product_view", "add_to_cart", "purchase"]
EVENTS = touchpoints(
    "p1 j1 2025-03-03 10:00 web product_view",
    "p1 j1 2025-03-03 10:10 web add_to_cart",
    "p1 j1 2025-03-03 10:20 web purchase 20",
    "p2 j2 2025-03-03 10:00 web product_view",
    "p2 j2 2025-03-03 10:05 web page_view",
    "p2 j2 2025-03-03 10:10 web add_to_cart",
    "p2 j2 2025-03-03 10:30 web purchase 10",
    "p3 j3 2025-03-03 10:00 app add_to_cart",
    "p3 j3 2025-03-03 10:01 app product_view",
    "p3 j3 2025-03-03 10:02 app purchase 5",
    "p4 j4 2025-03-03 10:00 web product_view",
    "p4 j4 2025-03-03 10:10 web add_to_cart",
    "p4 j4b 2025-03-12 10:00 web purchase 15",
    "p6 j6 2025-03-03 09:00 web product_view",
    "p6 j6 2025-03-03 09:01 web page_view",
    "p6 j6 2025-03-03 09:02 web product_view",
    "p6 j6 2025-03-03 09:03 web add_to_cart",
    "p6 j6 2025-03-03 09:04 web purchase 8",
)


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    path = tmp_path_factory.mktemp("funnel") / "warehouse.duckdb"
    write_journey_model(path, EVENTS)
    connection = duckdb.connect(str(path), read_only=True)
    yield connection
    connection.close()


def counts(frame) -> list[int]:
    return frame["n_reached"].tolist()


def test_ordered_allows_other_events_in_between(con):
    """ordered, 7 days: 5 start; p3 never adds to cart after viewing; p4 buys too late: 5, 4, 3."""
    assert counts(step_funnel(con, STEPS, "7d", "ordered")) == [5, 4, 3]


def test_strict_allows_no_other_event_in_between(con):
    """strict: p2's page_view breaks step 2; p6's second attempt is uninterrupted: 5, 3, 2."""
    assert counts(step_funnel(con, STEPS, "7d", "strict")) == [5, 3, 2]


def test_any_order_needs_all_steps_within_the_window(con):
    """any: p3 did all three in another order and counts; p4's purchase is outside 7 days: 5, 5, 4."""
    assert counts(step_funnel(con, STEPS, "7d", "any")) == [5, 5, 4]


def test_the_window_runs_from_the_first_step(con):
    """p4's purchase is exactly 9 days after its product view: inside a 9-day window, outside 8 days 23 hours."""
    assert counts(step_funnel(con, STEPS, "9d", "ordered")) == [5, 4, 4]
    assert counts(step_funnel(con, STEPS, "215h", "ordered")) == [5, 4, 3]


def test_an_excluded_event_removes_the_person_from_every_step(con):
    """Excluding page_view (PostHog's exclusion steps): p2's only attempt has one between its steps, so p2
    is not counted even at step 1; p6 completes through the attempt after its page_view: 4, 3, 2."""
    frame = step_funnel(con, STEPS, "7d", "ordered", exclude=["page_view"])
    assert counts(frame) == [4, 3, 2]


def test_conversion_relative_to_step_one_and_to_the_previous_step(con):
    """ordered 5, 4, 3: from start 1, 0.8, 0.6; from previous -, 0.8, 0.75; drop-off -, 0.2, 0.25."""
    frame = step_funnel(con, STEPS, "7d", "ordered")
    assert frame["conversion_from_start"].tolist() == [1.0, 0.8, 0.6]
    assert frame["conversion_from_previous"].tolist()[1:] == [0.8, 0.75]
    assert frame["drop_off_from_previous"].tolist()[1:] == pytest.approx([0.2, 0.25])
    assert frame["n_dropped_from_previous"].tolist()[1:] == [1, 1]


def test_median_time_between_steps(con):
    """Times are those of the attempt from the latest view before the cart (p6: 09:02, not 09:00).
    To cart: 600 s (p1, p2, p4) and 60 s (p6): median 600; to purchase 600, 1200, 60 s: median 600,
    and 1200, 1800, 120 s from the first step: median 1200."""
    frame = step_funnel(con, STEPS, "7d", "ordered")
    assert frame["median_time_from_previous_s"].tolist()[1:] == [600.0, 600.0]
    assert frame["median_time_from_start_s"].tolist() == [0.0, 600.0, 1200.0]


def test_breakdown_by_the_first_touch_channel(con):
    """by channel, the channel of each person's first step event: app is p3 alone (1, 0, 0); web the
    other four (4, 4, 3)."""
    frame = step_funnel(con, STEPS, "7d", "ordered", by="channel")
    assert {ch: counts(frame[frame["channel"] == ch]) for ch in ("app", "web")} == {"app": [1, 0, 0], "web": [4, 4, 3]}


def test_journeys_as_the_unit_keep_steps_within_one_journey(con):
    """per journey, 10 days: p4's purchase is in another journey, so only three journeys complete."""
    assert counts(step_funnel(con, STEPS, "10d", "ordered", unit="journey")) == [5, 4, 3]


def test_events_after_as_of_are_ignored(con):
    """As of 10:15 p1 and p2 have not bought yet: only p6 (09:04) completes."""
    assert counts(step_funnel(con, STEPS, "7d", "ordered", as_of=dt.datetime(2025, 3, 3, 10, 15))) == [5, 4, 1]


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": ["purchase"]}, "at least two steps"),
    ({"steps": STEPS, "exclude": ["purchase"]}, "both a step and excluded"),
    ({"steps": STEPS, "exclude": ["page_view:1-4"]}, "FROM-TO"),
    ({"steps": STEPS, "order": "random"}, "expected one of"),
    ({"steps": STEPS, "by": "no_such_column"}, "not a column"),
    ({"steps": ["purchase", "purchase"], "order": "any"}, "different event type"),
])
def test_impossible_funnels_are_refused_with_a_reason(con, kwargs, message):
    """Each impossible request raises FunnelError saying what is wrong."""
    with pytest.raises(FunnelError, match=message):
        step_funnel(con, **kwargs)


def test_windows_are_written_with_units():
    """7d, 12h, 30m, 90s and 2w in seconds; a bare number is seconds."""
    assert [parse_window(w) for w in ("7d", "12h", "30m", "90s", "2w", 45)] == [604800, 43200, 1800, 90, 1209600, 45]


@pytest.fixture
def command(tmp_path, monkeypatch):
    """Runs `journeys funnel ARGS...` against a published copy of EVENTS; returns its exit code."""
    settings = fresh_settings(tmp_path / "home")
    settings.published_dir.mkdir(parents=True)
    write_journey_model(settings.published_path, EVENTS)
    monkeypatch.setenv("JOURNEYS_HOME", str(settings.home))
    monkeypatch.delenv("JOURNEYS_AS_OF", raising=False)
    parser = argparse.ArgumentParser()
    metrics_cmds.register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> int:
        args = parser.parse_args(["funnel", *argv])
        return args.run(args)

    return run


def test_the_funnel_command_reads_the_published_warehouse(command, capsys):
    """`journeys funnel --steps ... --window 7d --exclude page_view --format csv`: the counts per step."""
    assert command("--steps", "product_view,add_to_cart,purchase", "--window", "7d", "--exclude", "page_view",
                   "--format", "csv") == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("step_number,step,n_reached,conversion_from_start")
    assert [line.split(",")[2] for line in lines[1:]] == ["4", "3", "2"]


def test_the_funnel_command_prints_rates_and_durations(command, capsys):
    """The table shows 80.0% of viewers adding to cart and 10m from view to cart (median 600 s)."""
    assert command("--steps", "product_view,add_to_cart,purchase") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "product_view -> add_to_cart -> purchase: order ordered, window 7d, unit person"
    assert out[3].split()[:5] == ["2", "add_to_cart", "4", "80.0%", "80.0%"] and "10m" in out[3]


def test_the_funnel_command_takes_an_exclusion_step_range(command, capsys):
    """--exclude page_view:2-3: p2's page_view comes before its cart (step 2), outside the range, so p2
    stays; p6's is before its first attempt's step 2 too: the same counts as without it, 5, 4, 3."""
    assert command("--steps", "product_view,add_to_cart,purchase", "--exclude", "page_view:2-3", "--format", "csv") == 0
    assert [line.split(",")[2] for line in capsys.readouterr().out.strip().splitlines()[1:]] == ["5", "4", "3"]


def test_a_misspelled_step_is_named_with_the_closest_event_types(command, capsys):
    """--steps product_view,add_to_cart,purchse: exit 0 with 5, 4, 0, and a warning on stderr naming
    'purchse' and suggesting purchase (stdout stays a clean CSV)."""
    assert command("--steps", "product_view,add_to_cart,purchse", "--format", "csv") == 0
    captured = capsys.readouterr()
    assert [line.split(",")[2] for line in captured.out.strip().splitlines()[1:]] == ["5", "4", "0"]
    assert "'purchse' never occurs in marts.journey_steps; closest known event types: purchase" in captured.err


def test_a_misspelled_exclusion_is_named_too(command, capsys):
    """--exclude page_veiw would exclude nothing, silently: the warning names it and suggests page_view."""
    assert command("--steps", "product_view,add_to_cart,purchase", "--exclude", "page_veiw", "--format", "csv") == 0
    assert "'page_veiw' never occurs in marts.journey_steps; closest known event types: page_view" in capsys.readouterr().err


def test_an_event_type_absent_only_before_as_of_is_not_misspelled(con):
    """As of 09:01:30 only p6 has viewed (09:00); carts and purchases come later but exist in the table:
    no warning, 1, 0, 0."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        frame = step_funnel(con, STEPS, "7d", "ordered", as_of=dt.datetime(2025, 3, 3, 9, 1, 30))
    assert counts(frame) == [1, 0, 0]


def test_step_funnel_warns_about_a_misspelled_step(con):
    """The Python API raises FunnelWarning for the same misspelling, and still returns the table."""
    with pytest.warns(FunnelWarning, match="closest known event types: add_to_cart"):
        frame = step_funnel(con, ["product_view", "add_to_crat"], "7d")
    assert counts(frame) == [5, 0]
