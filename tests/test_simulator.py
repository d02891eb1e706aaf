"""Specification of the event simulator: what downstream layers may rely on in its output.

Expected figures come from the brief (about 20% B2B customers, about 1% placeholder ids, ~0.5%
unknown event types, 30-60 events per customer over 120 days, 95% shape agreement), never from
the simulator's own output. The shape classifier and the identity stitcher below are written
from the rules the downstream layers follow, independently of the simulator's code.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import random
import statistics
from pathlib import Path

import pandas as pd
import pytest
from fastavro import parse_schema
from fastavro.validation import validate

import journeys.schemas.contract as contract
from journeys.pipelines.simulator import iter_events, simulate
from journeys.pipelines.simulator.surveys import support_quality

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SCHEMA = json.loads((Path(contract.__file__).parent / "touchpoint.v1.avsc").read_text())
FIELDS = [f["name"] for f in SCHEMA["fields"]]
PLACEHOLDERS = {"", "0", "guest"}
CONVERSIONS = {"purchase", "subscription_start", "subscription_renewed"}

# The default 'five_stage' model: event type -> (stage index, kind)
FIVE_STAGE = {}
for _stage, _kinds in enumerate((
    {"main": "ad_impression ad_click social_view email_sent email_open page_view"},
    {"main": "product_view email_click store_visit demo_request",
     "detour": "review_read video_watch compare brochure_download webinar_attend call_inquiry chat_inquiry"},
    {"main": "add_to_cart checkout_start quote_request purchase subscription_start subscription_renewed"},
    {"main": "delivery onboarding product_usage renewal_notice",
     "detour": "ticket_opened support_call ticket_resolved survey_response", "exit": "unsubscribe subscription_cancelled"},
    {"main": "review_written referral social_share loyalty_signup"},
)):
    for _kind, _types in _kinds.items():
        FIVE_STAGE.update({t: (_stage, _kind) for t in _types.split()})


def classify(events: list[dict]) -> str:
    """The downstream shape rule: collapse repeats, walk stages per cycle, count returns, restarts, detours."""
    steps = []
    for ev in sorted(events, key=lambda e: e["occurred_at"]):
        step = (ev["event_type"], ev["channel"])
        if not steps or steps[-1] != step:
            steps.append(step)
    top, converted, seen, previous = -1, False, set(), None
    returns = restarts = detours = 0
    for event_type, _ in steps:
        if event_type not in FIVE_STAGE:
            continue
        stage, kind = FIVE_STAGE[event_type]
        if stage < top:
            if converted:
                restarts += 1
                top, converted, seen, previous = -1, False, set(), None
            else:
                returns += 1
        detours += kind == "detour"
        detours += event_type in seen and previous != event_type
        seen.add(event_type)
        top, converted, previous = max(top, stage), converted or event_type in CONVERSIONS, event_type
    if returns or len({ev["channel"] for ev in events}) >= 3:
        return "complex"
    return "cyclical" if restarts else "branching" if detours else "linear"


def unique(events: list[dict]) -> list[dict]:
    """First delivery of each event."""
    first: dict = {}
    for ev in events:
        first.setdefault(ev["event_id"], ev)
    return list(first.values())


def real(customer_id: str | None) -> bool:
    return customer_id is not None and customer_id not in PLACEHOLDERS


def by_journey(events: list[dict]) -> dict[str, list[dict]]:
    groups = collections.defaultdict(list)
    for ev in unique(events):
        groups[ev["properties"]["sim_journey_id"]].append(ev)
    return groups


def stitch(events: list[dict], gap: dt.timedelta = dt.timedelta(days=90)) -> list[list[dict]]:
    """People = events linked by shared identifiers, ignoring placeholders and identifiers seen with
    too many customers (anonymous_id, email, loyalty: 1; phone: 2); journeys = no gap over 90 days."""
    limits = {"anonymous_id": 1, "email_hash": 1, "phone_hash": 2, "loyalty_id": 1}
    events = unique(events)
    customers_of = collections.defaultdict(set)
    for ev in events:
        if real(ev["customer_id"]):
            for name in limits:
                if ev[name]:
                    customers_of[name, ev[name]].add(ev["customer_id"])
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    keys_of = []
    for ev in events:
        keys = [(n, ev[n]) for n in contract.IDENTIFIERS if ev[n] and ev[n] not in PLACEHOLDERS
                and (n == "customer_id" or len(customers_of[n, ev[n]]) <= limits[n])] or [("event", ev["event_id"])]
        keys_of.append(keys)
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    people = collections.defaultdict(list)
    for ev, keys in zip(events, keys_of):
        people[find(keys[0])].append(ev)
    journeys = []
    for person in people.values():
        person.sort(key=lambda e: e["occurred_at"])
        journeys.append([person[0]])
        for before, ev in zip(person, person[1:]):
            if ev["occurred_at"] - before["occurred_at"] > gap:
                journeys.append([])
            journeys[-1].append(ev)
    return journeys


@pytest.fixture(scope="module")
def small():
    return simulate(600, 120, seed=2024, label=True)


@pytest.fixture(scope="module")
def demo():
    """The default demo size: 2,000 customers over 120 days."""
    return simulate(2000, 120, seed=7, label=True)


# ---- determinism and the stream -------------------------------------------------------------

def test_same_seed_gives_identical_output():
    """A seed fixes every event and every ground-truth row."""
    a, b = simulate(80, 60, seed=3), simulate(80, 60, seed=3)
    assert a.events == b.events
    assert a.journeys.equals(b.journeys)


def test_different_seeds_give_different_output():
    """Two seeds give two different populations."""
    a, b = simulate(80, 60, seed=3), simulate(80, 60, seed=4)
    assert [e["event_type"] for e in a.events] != [e["event_type"] for e in b.events]


def test_iter_events_streams_the_same_events_customer_by_customer():
    """iter_events yields simulate's events, grouped by customer instead of sorted globally."""
    streamed = list(iter_events(60, 60, seed=5, label=True))
    assert sorted(streamed, key=lambda e: (e["event_id"], e["received_at"])) == sorted(
        simulate(60, 60, seed=5, label=True).events, key=lambda e: (e["event_id"], e["received_at"]))
    owners = [ev["properties"]["sim_journey_id"].split("-J")[0] for ev in streamed]
    blocks = [owner for i, owner in enumerate(owners) if i == 0 or owners[i - 1] != owner]
    assert len(blocks) == len(set(blocks))


def test_simulate_delivers_in_received_order(small):
    """simulate's events come in the order a stream delivers them."""
    received = [ev["received_at"] for ev in small.events]
    assert received == sorted(received)


def test_progress_bar_counts_customers(capsys):
    """progress=True draws a tqdm bar over customers on stderr."""
    simulate(5, 10, seed=1, progress=True)
    assert "5/5" in capsys.readouterr().err


# ---- the contract ---------------------------------------------------------------------------

def test_events_are_valid_touchpoints(small):
    """Every event has exactly the Avro fields and encodes under touchpoint.v1."""
    parsed = parse_schema(SCHEMA)
    for ev in small.events:
        assert list(ev) == FIELDS
        assert validate(ev, parsed, raise_errors=True)


def test_values_are_in_their_ranges(small):
    """Known channels, UTC timestamps, scores in range, revenue never negative."""
    for ev in small.events:
        assert ev["channel"] in contract.CHANNELS
        assert ev["occurred_at"].utcoffset() == dt.timedelta(0) == ev["received_at"].utcoffset()
        assert ev["received_at"] >= ev["occurred_at"]
        for name, (lo, hi) in contract.SCORE_RANGES.items():
            assert ev[name] is None or lo <= ev[name] <= hi
        assert ev["revenue"] is None or ev["revenue"] >= 0
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in ev["properties"].items())


def test_every_event_names_someone(small):
    """At least one real identifier on every event (a placeholder customer_id does not count)."""
    for ev in small.events:
        assert any(ev[name] and ev[name] not in PLACEHOLDERS for name in contract.IDENTIFIERS), ev


def test_no_raw_email_or_phone_leaves_the_simulator(small):
    """Only salted SHA-256 hex: no '@' anywhere, hashes are 64 hex characters."""
    for ev in small.events:
        texts = [v for v in ev.values() if isinstance(v, str)] + list(ev["properties"].values())
        assert not any("@" in text for text in texts)
        for name in ("email_hash", "phone_hash"):
            assert ev[name] is None or (len(ev[name]) == 64 and int(ev[name], 16) >= 0)


def test_conversions_carry_an_order(small):
    """purchase and subscription events carry order_id, positive revenue in EUR or USD, product_id."""
    conversions = [ev for ev in small.events if ev["event_type"] in CONVERSIONS]
    assert conversions
    for ev in conversions:
        assert ev["order_id"] and ev["product_id"] and ev["revenue"] > 0 and ev["currency"] in ("EUR", "USD")


def test_ads_and_emails_carry_campaign_fields(small):
    """Ad, social and marketing e-mail touches say which campaign, source and medium they belong to."""
    tagged = ("ad_impression", "ad_click", "social_view", "email_sent", "email_open", "email_click")
    for ev in small.events:
        if ev["event_type"] in tagged:
            assert ev["campaign"] and ev["source"] and ev["medium"], ev


def test_nothing_happens_outside_the_window():
    """No event occurs before start or is received after start + days, store uploads included."""
    start = dt.datetime(2025, 3, 1, 7, 30, tzinfo=dt.UTC)
    events = simulate(300, 3, seed=11, start=start).events
    assert min(ev["occurred_at"] for ev in events) >= start
    assert max(ev["received_at"] for ev in events) <= start + dt.timedelta(days=3)


# ---- timing ---------------------------------------------------------------------------------

def test_store_events_arrive_in_the_next_nightly_upload(small):
    """Tills upload at 02:00 the night after: received the next day between 02:00 and 03:00 UTC."""
    store = [ev for ev in unique(small.events) if ev["channel"] == "store"]
    assert store
    for ev in store:
        assert ev["received_at"].date() == ev["occurred_at"].date() + dt.timedelta(days=1)
        assert ev["received_at"].hour == 2
        assert ev["received_at"] - ev["occurred_at"] >= dt.timedelta(hours=2)


def test_other_channels_arrive_within_seconds(small):
    """Outside stores, the first delivery of an event follows it by a few seconds."""
    first = {}
    for ev in small.events:
        first.setdefault(ev["event_id"], ev)
    for ev in first.values():
        if ev["channel"] != "store":
            assert ev["received_at"] - ev["occurred_at"] < dt.timedelta(seconds=10)


def test_duplicate_share_is_roughly_as_configured():
    """duplicate_share=0.05: about 5 redeliveries per 100 events, same event with a later received_at."""
    events = simulate(300, 60, seed=8, duplicate_share=0.05).events
    copies = collections.defaultdict(list)
    for ev in events:
        copies[ev["event_id"]].append(ev)
    n_redelivered = len(events) - len(copies)
    assert 0.035 < n_redelivered / len(copies) < 0.065
    for same in copies.values():
        assert all({**later, "received_at": None} == {**same[0], "received_at": None} for later in same[1:])
        assert all(later["received_at"] > same[0]["received_at"] for later in same[1:])


def test_duplicates_change_nothing_else():
    """The unique events are the same whatever the duplicate share."""
    def key(e):
        return e["event_id"]
    assert sorted(unique(simulate(100, 60, seed=9, duplicate_share=0.0).events), key=key) == sorted(
        unique(simulate(100, 60, seed=9, duplicate_share=0.2).events), key=key)


# ---- who the customers are ------------------------------------------------------------------

def test_about_a_fifth_of_customers_are_b2b(demo):
    """B2B is ~20% of customers (2,000 customers: binomial sd ~0.9 points)."""
    personas = demo.journeys.drop_duplicates("customer_id")["persona"]
    assert 0.16 < (personas == "b2b").mean() < 0.24


def test_b2b_journeys_take_weeks_and_b2c_ones_hours_to_days(demo):
    """Median length of non-subscription journeys: B2C under a week, B2B over two weeks."""
    j = demo.journeys[demo.journeys["shape"] != "cyclical"]
    length = (j["ended_at"] - j["started_at"]).groupby(j["persona"]).median()
    assert length["b2c"] < pd.Timedelta(days=7)
    assert length["b2b"] > pd.Timedelta(days=14)


def test_b2b_buyers_ask_for_demos_webinars_brochures_and_quotes(small):
    """Those touchpoints belong to B2B journeys only, and each of them occurs."""
    b2b_only = {"demo_request", "webinar_attend", "brochure_download", "quote_request", "call_inquiry"}
    persona_of = dict(zip(small.journeys["sim_journey_id"], small.journeys["persona"]))
    personas = collections.defaultdict(set)
    for ev in small.events:
        if ev["event_type"] in b2b_only:
            personas[ev["event_type"]].add(persona_of[ev["properties"]["sim_journey_id"]])
    assert personas == {event_type: {"b2b"} for event_type in b2b_only}


def test_every_shape_and_persona_appears(small):
    """All four shapes for both personas."""
    pairs = set(zip(small.journeys["persona"], small.journeys["shape"]))
    assert pairs == {(p, s) for p in ("b2b", "b2c") for s in ("linear", "branching", "cyclical", "complex")}


def test_ground_truth_describes_its_events(small):
    """Each ground-truth row's times, size and conversion match the events labelled with it."""
    groups = by_journey(small.events)
    assert set(groups) == set(small.journeys["sim_journey_id"])
    for row in small.journeys.itertuples():
        events = groups[row.sim_journey_id]
        assert row.n_events == len(events)
        assert row.started_at == min(ev["occurred_at"] for ev in events)
        assert row.ended_at == max(ev["occurred_at"] for ev in events)
        assert row.converted == any(ev["event_type"] in CONVERSIONS for ev in events)


def test_default_demo_has_30_to_60_events_per_customer(demo):
    """2,000 customers over 120 days make 60k-120k events."""
    assert 30 <= len(unique(demo.events)) / 2000 <= 60


def test_some_customers_come_back_after_more_than_90_days(demo):
    """A second journey starts more than 90 days after the first one ended."""
    j = demo.journeys.sort_values("started_at")
    returning = j[j.duplicated("customer_id", keep=False)].groupby("customer_id")
    assert returning.ngroups >= 10
    for _, rows in returning:
        gaps = rows["started_at"].iloc[1:].to_numpy() - rows["ended_at"].iloc[:-1].to_numpy()
        assert (gaps > pd.Timedelta(days=90).to_timedelta64()).all()


def test_events_with_a_customer_carry_the_persona(small):
    """Like a CRM trait, properties['persona'] is on every event with a real customer_id."""
    for ev in small.events:
        if real(ev["customer_id"]):
            assert ev["properties"]["persona"] in ("b2b", "b2c")


# ---- shapes ---------------------------------------------------------------------------------

def test_intended_shapes_agree_with_the_classifier(demo):
    """At least 95% of intended journeys get their intended shape from the downstream rule."""
    groups = by_journey(demo.events)
    agree = sum(classify(groups[row.sim_journey_id]) == row.shape for row in demo.journeys.itertuples())
    assert agree / len(demo.journeys) >= 0.95


def test_stitched_journeys_agree_with_intended_ones(demo):
    """After stitching by identifiers alone, 95% of intended journeys are found whole, with their shape."""
    truth = demo.journeys.set_index("sim_journey_id")
    found = 0
    for journey in stitch(demo.events):
        labels = {ev["properties"]["sim_journey_id"] for ev in journey}
        if len(labels) == 1:
            label = labels.pop()
            found += len(journey) == truth.at[label, "n_events"] and classify(journey) == truth.at[label, "shape"]
    assert found / len(truth) >= 0.95


def test_unknown_event_types_are_rare_but_present(small):
    """Trackers send some event types no stage model knows (~0.5%)."""
    events = unique(small.events)
    share = sum(ev["event_type"] not in FIVE_STAGE for ev in events) / len(events)
    assert 0.001 < share < 0.015


# ---- identity -------------------------------------------------------------------------------

def test_every_identifier_type_is_linked_to_customers(small):
    """Logins pair cookies with customers; e-mail, phone and loyalty ids also appear beside a customer_id."""
    for name in ("anonymous_id", "email_hash", "phone_hash", "loyalty_id"):
        assert any(ev[name] and real(ev["customer_id"]) for ev in small.events), name
    assert any(ev["anonymous_id"] and not ev["customer_id"] for ev in small.events)
    assert any(ev["channel"] == "store" and ev["loyalty_id"] and not ev["customer_id"] for ev in small.events)


def test_about_one_percent_of_customer_ids_are_placeholders(demo):
    """'guest', '0', '' stand in for a customer on ~1% of events."""
    events = unique(demo.events)
    share = sum(ev["customer_id"] in PLACEHOLDERS for ev in events) / len(events)
    assert 0.005 < share < 0.015


def test_shared_devices_and_the_switchboard_span_customers(demo):
    """A household cookie is used by exactly two customers; the switchboard number by many."""
    customers_of = collections.defaultdict(set)
    for ev in demo.events:
        if real(ev["customer_id"]):
            for name in ("anonymous_id", "phone_hash"):
                if ev[name]:
                    customers_of[name, ev[name]].add(ev["customer_id"])
    shared = collections.Counter(len(c) for (name, _), c in customers_of.items() if name == "anonymous_id")
    assert shared[2] >= 1 and max(shared) == 2
    assert max(len(c) for (name, _), c in customers_of.items() if name == "phone_hash") >= 10


# ---- service --------------------------------------------------------------------------------

def test_surveys_rate_an_existing_order_or_ticket(demo):
    """A survey_response (e-mail or SMS) references an earlier order or ticket of the same customer."""
    events = sorted(unique(demo.events), key=lambda e: e["occurred_at"])
    owner = lambda ev: ev["properties"]["sim_journey_id"].split("-J")[0]  # noqa: E731
    known = set()
    surveys = 0
    for ev in events:
        if ev["event_type"] in CONVERSIONS:
            known.add((owner(ev), ev["order_id"]))
        elif ev["event_type"] == "ticket_opened":
            known.add((owner(ev), ev["ticket_id"]))
        elif ev["event_type"] == "survey_response":
            surveys += 1
            assert ev["channel"] in ("email", "sms")
            assert (owner(ev), ev["ticket_id"] or ev["order_id"]) in known
            assert any(ev[s] is not None for s in ("nps_score", "csat_score", "ces_score"))
    assert surveys > 0


def test_tickets_open_get_a_first_response_and_resolve(demo):
    """Each ticket: opened (call or chat, with an issue category), an agent's first response, resolved."""
    tickets = collections.defaultdict(list)
    for ev in sorted(unique(demo.events), key=lambda e: e["occurred_at"]):
        if ev["ticket_id"] and ev["event_type"] != "survey_response":
            tickets[ev["ticket_id"]].append(ev)
    assert len(tickets) >= 50
    for events in tickets.values():
        opened, response, resolved = events
        assert opened["event_type"] == "ticket_opened" and opened["channel"] in ("call_center", "chat")
        assert opened["properties"]["issue_category"]
        assert response["event_type"] == ("support_call" if opened["channel"] == "call_center" else "chat_reply")
        assert response["properties"]["actor"] == "agent"
        assert dt.timedelta(minutes=1) <= response["occurred_at"] - opened["occurred_at"] <= dt.timedelta(hours=30)
        assert resolved["event_type"] == "ticket_resolved"


def test_one_issue_category_dominates(demo):
    """Pain points are skewed: the top issue category has roughly 30% of tickets."""
    opened = [ev for ev in unique(demo.events) if ev["event_type"] == "ticket_opened"]
    top = collections.Counter(ev["properties"]["issue_category"] for ev in opened).most_common(1)[0][1]
    assert 0.2 < top / len(opened) < 0.45


def test_long_support_waits_lower_satisfaction():
    """Ten hours to a first answer scores worse on average than ten minutes."""
    rng = random.Random(1)
    quick = statistics.mean(support_quality(rng, 600, 4 * 3600) for _ in range(2000))
    slow = statistics.mean(support_quality(rng, 10 * 3600, 4 * 3600) for _ in range(2000))
    assert slow < quick - 0.2


def test_repeat_buyers_order_again(demo):
    """Some journeys hold several purchases, each its own order."""
    orders = collections.defaultdict(set)
    for ev in unique(demo.events):
        if ev["event_type"] == "purchase":
            orders[ev["properties"]["sim_journey_id"]].add(ev["order_id"])
    assert sum(len(ids) >= 2 for ids in orders.values()) >= 20


def test_subscriptions_renew_monthly_and_some_end(demo):
    """A subscription renews every 30 days; some are cancelled."""
    renewals = collections.defaultdict(list)
    for ev in sorted(unique(demo.events), key=lambda e: e["occurred_at"]):
        if ev["event_type"] in ("subscription_start", "subscription_renewed"):
            renewals[ev["properties"]["subscription_id"]].append(ev["occurred_at"])
    gaps = [b - a for dates in renewals.values() for a, b in zip(dates, dates[1:])]
    assert gaps and all(dt.timedelta(days=29) < gap < dt.timedelta(days=31) for gap in gaps)
    assert any(ev["event_type"] == "subscription_cancelled" for ev in demo.events)
