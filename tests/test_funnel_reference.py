"""The vectorised funnel agrees with a direct, one-attempt-at-a-time reading of its rules
(transforms/funnel.py's docstring) on random journeys: every order, repeated steps, exclusions with
and without step ranges, ties at the same instant, events stored out of order."""

from __future__ import annotations

import datetime as dt
import random
import statistics

import duckdb
import pytest

from journeys.transforms.funnel import compute_funnel, parse_exclusion
from tests.metrics_helpers import touchpoints, write_journey_model

START = dt.datetime(2025, 3, 3, 8, 0)
CASES = [
    ("ordered", ["a", "b", "c"], []),
    ("ordered", ["a", "b", "c"], ["x"]),
    ("ordered", ["a", "b", "c"], ["x:1-2", "y:2-3"]),
    ("ordered", ["a", "b", "a"], ["x:2-3"]),
    ("strict", ["a", "b", "c"], []),
    ("strict", ["a", "b", "c"], ["x:1-3", "y:2-3"]),
    ("any", ["a", "b", "c"], []),
    ("any", ["a", "b", "c"], ["x", "y"]),
]


def reference(events: list[tuple[dt.datetime, str]], order: str, steps: list[str], exclude: list[str],
              window: dt.timedelta) -> tuple[int, list[dt.datetime]] | None:
    """(depth, step times) of the attempt a person counts by, or None when they are left out."""
    exclusions = [parse_exclusion(e) for e in exclude]
    exclusions = [(e.event_type, e.from_step or 1, e.to_step or len(steps)) for e in exclusions]
    rank: dict[str, int] = {}
    for event_type in [e[0] for e in exclusions] + steps:  # ties: excluded events, then steps in order
        rank.setdefault(event_type, len(rank))
    events = sorted(events, key=lambda e: (e[0], rank.get(e[1], len(rank))))
    attempts = []
    for i, (started, event_type) in enumerate(events):
        if order != "any" and event_type != steps[0] or order == "any" and event_type not in steps:
            continue
        if order == "any":
            firsts = {}
            for j in range(i, len(events)):
                if events[j][1] in steps and events[j][1] not in firsts and events[j][0] - started <= window:
                    firsts[events[j][1]] = j
            reached = sorted(firsts.values())
            end = reached[-1] if len(reached) == len(steps) else None
            discarded = any(events[j][1] in {x for x, _, _ in exclusions} and events[j][0] - started <= window
                            and (end is None or j < end) for j in range(i + 1, len(events)))
        else:
            reached = [i]
            for step in steps[1:]:
                if order == "strict":
                    j = reached[-1] + 1
                    found = j if j < len(events) and events[j][1] == step else None
                else:
                    found = next((j for j in range(reached[-1] + 1, len(events)) if events[j][1] == step), None)
                if found is None or events[found][0] - started > window:
                    break
                reached.append(found)
            discarded = False
            for x, first, to in exclusions:
                if len(reached) < first:
                    continue
                if order == "strict":
                    j = reached[-1] + 1
                    discarded |= (len(reached) < to and j < len(events) and events[j][1] == x
                                  and events[j][0] - started <= window)
                    continue
                end = reached[to - 1] if len(reached) >= to else None
                discarded |= any(events[j][1] == x and (j < end if end is not None else events[j][0] - started <= window)
                                 for j in range(reached[first - 1] + 1, len(events)))
        if not discarded:
            attempts.append((len(reached), reached[-1], i, [events[j][0] for j in reached]))
    if not attempts:
        return None
    depth, _, _, times = min(attempts, key=lambda a: (-a[0], a[1], -a[2]))
    return depth, times


def expected_table(people: dict[str, list], order, steps, exclude, window) -> tuple[list[int], list]:
    counted = [r for r in (reference(events, order, steps, exclude, window) for events in people.values()) if r]
    n_reached = [sum(1 for depth, _ in counted if depth >= k) for k in range(1, len(steps) + 1)]
    medians = []
    for k in range(2, len(steps) + 1):
        gaps = [(times[k - 1] - times[k - 2]).total_seconds() for depth, times in counted if depth >= k]
        medians.append(statistics.median(gaps) if gaps else None)
    return n_reached, medians


def random_people(rng: random.Random) -> dict[str, list]:
    people = {}
    for p in range(25):
        at = START
        events = []
        for _ in range(rng.randrange(0, 14)):
            at += dt.timedelta(minutes=rng.choice([0, 1, 5, 20, 45, 90]))
            events.append((at, rng.choice("aaabbccxyo")))
        people[f"p{p}"] = events
    return people


@pytest.mark.filterwarnings("ignore:.* never occurs")
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("order, steps, exclude", CASES)
def test_the_funnel_matches_a_direct_reading_of_its_rules(tmp_path, seed, order, steps, exclude):
    """Counts per step and median times between steps, for 25 random people (up to 13 events each)."""
    rng = random.Random(seed * 100 + len(order))
    people = random_people(rng)
    window = dt.timedelta(minutes=rng.choice([30, 60, 120, 240]))
    lines = [f"{p} j{p} {at:%Y-%m-%d %H:%M:%S} web {event_type}" for p, events in people.items() for at, event_type in events]
    rng.shuffle(lines)  # stored out of order: the funnel sorts
    path = tmp_path / "warehouse.duckdb"
    write_journey_model(path, touchpoints(*lines))
    con = duckdb.connect(str(path), read_only=True)
    try:
        table = compute_funnel(con, steps, window=window, order=order, exclude=exclude)
    finally:
        con.close()
    n_reached, medians = expected_table(people, order, steps, exclude, window)
    assert [row[2] for row in table.rows] == n_reached
    assert [row[7] for row in table.rows][1:] == medians
