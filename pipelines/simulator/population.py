"""A simulated customer base: every customer's journeys, as a stream of events and as ground truth.

Grain of the ground truth: one row per *intended* journey (what the simulator meant the customer
to do), to test the warehouse's stitched, classified journeys against. Each customer has its
own seeded random generator, so a customer's events depend only on (seed, customer index): the
stream can be produced customer by customer in constant memory, and is identical on every run.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter

import pandas as pd
from tqdm import tqdm

from . import b2b, b2c
from .events import EventWriter
from .identity import household_cookies, new_customer, switchboard_phone_hash
from .linking import add_placeholders, link_journeys
from .personas import pick_persona
from .timing import DAY, HOUR, MINUTE, QUIET_BEFORE_COMEBACK_S

DEFAULT_START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
JOURNEY_COLUMNS = ("sim_journey_id", "customer_id", "persona", "shape", "started_at", "ended_at", "converted", "n_events")

RECIPES = {
    ("b2c", "linear"): b2c.linear, ("b2c", "branching"): b2c.branching,
    ("b2c", "cyclical"): b2c.cyclical, ("b2c", "complex"): b2c.complex_,
    ("b2b", "linear"): b2b.linear, ("b2b", "branching"): b2b.branching,
    ("b2b", "cyclical"): b2b.cyclical, ("b2b", "complex"): b2b.complex_,
}
PLACEHOLDER_RATE = 0.016
"""Chance that an eligible event gets a placeholder customer_id: about 1% of all events."""
STORE_MARGIN_S = 27 * HOUR
"""Store events must occur this long before the window ends, so their nightly upload lands inside it."""
STREAM_MARGIN_S = 2 * MINUTE
COOKIE_LOSS_RATE = 0.5
"""Chance a returning customer's browser no longer has the old cookie."""
EXISTING_CUSTOMER_SHARE = 0.4
"""Customers already in a journey when the window opens; the others arrive evenly over it."""


@dataclass
class SimulatedPopulation:
    events: list[dict]
    """Every delivered event, redeliveries included, in the order a stream delivers them (received_at)."""
    journeys: pd.DataFrame
    """Ground truth, one row per intended journey (JOURNEY_COLUMNS)."""


@dataclass(frozen=True)
class _Run:
    seed: int
    start: dt.datetime
    window_s: float
    duplicate_share: float
    label: bool
    households: dict[int, str]
    switchboard_hash: str

    @property
    def end(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.window_s)


def _customer(run: _Run, index: int) -> tuple[list[dict], list[dict]]:
    """All events of one customer (time order, redeliveries right after their original) and their journeys."""
    rng = random.Random(f"{run.seed}:{index}")
    persona = pick_persona(rng)
    c = new_customer(index, rng, persona, run.households.get(index))
    writer = EventWriter(run.start, run.seed, c, rng, run.switchboard_hash, run.label)
    journeys, rows = [], []
    earliest_s: float | None = None
    while True:
        shape = persona.pick_shape(rng)
        convert = rng.random() < persona.conversion_rate
        t0_s = _first_start_s(rng, run.window_s) if earliest_s is None else earliest_s
        plan = RECIPES[persona.name, shape](rng, c, convert, run.window_s - STREAM_MARGIN_S - t0_s)
        room_s = run.window_s - (STORE_MARGIN_S if "store" in plan.channels else STREAM_MARGIN_S)
        if t0_s + plan.duration_s > room_s:
            if earliest_s is not None or room_s <= 0:
                break  # comes back after the window ends: not part of this simulation
            t0_s = max(0.0, room_s - plan.duration_s)
            if plan.duration_s > room_s:
                plan.scaled(0.999 * room_s / plan.duration_s)
        journey_id = f"{c.customer_id}-J{len(journeys) + 1}"
        events = writer.write(plan, t0_s, journey_id)
        journeys.append(events)
        rows.append({"sim_journey_id": journey_id, "customer_id": c.customer_id, "persona": persona.name,
                     "shape": shape, "started_at": events[0]["occurred_at"], "ended_at": events[-1]["occurred_at"],
                     "converted": plan.converted, "n_events": len(events)})
        if rng.random() >= persona.comeback_rate:
            break
        earliest_s = t0_s + plan.duration_s + rng.uniform(*QUIET_BEFORE_COMEBACK_S)
        if earliest_s >= run.window_s - DAY:
            break
        if rng.random() < COOKIE_LOSS_RATE:
            c.new_cookie(rng)
    untrusted = frozenset({run.switchboard_hash, *run.households.values()})
    link_journeys(journeys, c, untrusted)
    events = [ev for journey in journeys for ev in journey]
    add_placeholders(events, rng, PLACEHOLDER_RATE, untrusted)
    for ev in events:
        if ev["customer_id"] == c.customer_id:
            ev["properties"]["persona"] = persona.name
    return _with_redeliveries(run, index, events), rows


def _first_start_s(rng: random.Random, window_s: float) -> float:
    """Existing customers are active from the first days of the window; new ones arrive at any time."""
    if rng.random() < EXISTING_CUSTOMER_SHARE:
        return rng.uniform(0.0, min(window_s, 14 * DAY) * 0.95)
    return rng.uniform(0.0, 0.95 * window_s)


def _with_redeliveries(run: _Run, index: int, events: list[dict]) -> list[dict]:
    """At-least-once delivery: a few events arrive twice, same event_id, minutes to hours apart.

    Drawn from a generator of their own, so the share of duplicates changes nothing else."""
    if run.duplicate_share <= 0:
        return events
    rng = random.Random(f"{run.seed}:{index}:redelivery")
    end = run.end
    out = []
    for ev in events:
        out.append(ev)
        if rng.random() < run.duplicate_share:
            again = ev["received_at"] + dt.timedelta(seconds=rng.uniform(30.0, 3 * HOUR))
            if again < end:
                copy = dict(ev, received_at=again)
                copy["properties"] = dict(ev["properties"])
                out.append(copy)
    return out


def _run(customers: int, days: int, seed: int, start: dt.datetime, duplicate_share: float, label: bool) -> _Run:
    if customers < 0 or days <= 0:
        raise ValueError("need customers >= 0 and days > 0")
    if not 0.0 <= duplicate_share < 1.0:
        raise ValueError("duplicate_share must be in [0, 1)")
    start = start.replace(tzinfo=dt.UTC) if start.tzinfo is None else start.astimezone(dt.UTC)
    return _Run(seed, start, days * DAY, duplicate_share, label, household_cookies(customers, seed), switchboard_phone_hash())


def _customers(run: _Run, customers: int, progress: bool) -> Iterator[tuple[list[dict], list[dict]]]:
    for index in tqdm(range(customers), desc="simulate", unit="customer", disable=not progress):
        yield _customer(run, index)


def iter_events(customers: int, days: int, seed: int, start: dt.datetime = DEFAULT_START,
                duplicate_share: float = 0.005, label: bool = False, progress: bool = False) -> Iterator[dict]:
    """The events of `simulate`, customer after customer (each customer's in time order), not sorted
    globally: streams any number of events in constant memory."""
    run = _run(customers, days, seed, start, duplicate_share, label)
    for events, _ in _customers(run, customers, progress):
        yield from events


def simulate(customers: int, days: int, seed: int, start: dt.datetime = DEFAULT_START,
             duplicate_share: float = 0.005, label: bool = False, progress: bool = False) -> SimulatedPopulation:
    """`customers` customers over `days` days from `start`: events sorted by received_at, plus ground truth.

    label=True adds properties['sim_journey_id'] to every event, linking it to its ground-truth row."""
    run = _run(customers, days, seed, start, duplicate_share, label)
    events, rows = [], []
    collecting = gc.isenabled()
    gc.disable()  # only containers are made here, none cyclic: full collections would rescan them all
    try:
        for customer_events, customer_rows in _customers(run, customers, progress):
            events.extend(customer_events)
            rows.extend(customer_rows)
    finally:
        if collecting:
            gc.enable()
    events.sort(key=itemgetter("received_at"))
    journeys = pd.DataFrame(rows, columns=list(JOURNEY_COLUMNS))
    return SimulatedPopulation(events=events, journeys=journeys)
