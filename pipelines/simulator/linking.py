"""Keeps each simulated journey stitchable, then adds the placeholder-id noise real sources have.

Why: the ground truth says "these events are one journey of one customer"; downstream only sees
identifiers. If a journey's web cookie never met its customer_id anywhere (the person never
signed in), stitching would split the journey in two and the ground truth would be wrong. So
after a customer's journeys are written, every journey whose events fall into more than one
identity component gets one sign-in (or call verification, or account-linked till receipt) per
stray component, on its latest event there. Journeys that are anonymous from end to end stay so.

Identifier values that stitching must not trust (a household's shared cookie, the switchboard's
phone number) never count as links here either, matching the person limits downstream.
"""

from __future__ import annotations

import random

from journeys.schemas.contract import IDENTIFIERS

from .identity import PLACEHOLDER_BY_CHANNEL, Customer

_SIGN_IN_CHANNELS = ("web", "mobile_app", "chat", "call_center", "store", "email", "sms")
_EMAIL_CARRIERS = ("store", "web", "mobile_app")
_OTHER_IDENTIFIERS = tuple(name for name in IDENTIFIERS if name != "customer_id")


def _links(ev: dict, untrusted: frozenset[str]) -> list[tuple[str, str]]:
    return [(name, ev[name]) for name in IDENTIFIERS if ev[name] and ev[name] not in untrusted]


class _Components:
    def __init__(self) -> None:
        self.parent: dict = {}

    def find(self, x):
        parent = self.parent
        root = parent.setdefault(x, x)
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, keys: list) -> None:
        if keys:
            root = self.find(keys[0])
            for key in keys[1:]:
                self.parent[self.find(key)] = root


def link_journeys(journeys: list[list[dict]], c: Customer, untrusted: frozenset[str]) -> None:
    comps = _Components()
    for events in journeys:
        for ev in events:
            comps.union(_links(ev, untrusted))
    me = ("customer_id", c.customer_id)
    for events in journeys:
        latest: dict = {}  # component root -> its latest event, preferring channels that can sign people in
        for ev in events:
            keys = _links(ev, untrusted)
            if not keys:  # only untrusted ids: the source must have resolved the customer itself
                ev["customer_id"] = c.customer_id
                keys = _links(ev, untrusted)
            root = comps.find(keys[0])
            if root not in latest or ev["channel"] in _SIGN_IN_CHANNELS:
                latest[root] = ev
        if len(latest) < 2:
            continue
        mine = comps.find(me) if me in comps.parent else None
        if mine not in latest:  # nothing in this journey names the customer yet: sign in on one channel first
            root, ev = max(latest.items(), key=lambda item: item[1]["channel"] in _SIGN_IN_CHANNELS)
            ev["customer_id"] = c.customer_id
            comps.union(_links(ev, untrusted))
            mine = comps.find(me)
        for root, ev in latest.items():
            if root == mine:
                continue
            carrier = None if ev["channel"] in _SIGN_IN_CHANNELS else _email_carrier(events, ev, comps, mine, untrusted)
            if carrier is not None:
                carrier["email_hash"] = ev["email_hash"]
                comps.union(_links(carrier, untrusted))
            else:
                ev["customer_id"] = c.customer_id
                comps.union(_links(ev, untrusted))


def _email_carrier(events: list[dict], stray: dict, comps: _Components, mine, untrusted: frozenset[str]) -> dict | None:
    """A social touch matched by hashed e-mail only: the customer also gave that address at a till
    (an e-receipt) or in a form, so the latest such event of the journey carries it."""
    if not stray["email_hash"] or mine is None:
        return None
    for ev in reversed(events):
        if ev["channel"] in _EMAIL_CARRIERS and not ev["email_hash"]:
            keys = _links(ev, untrusted)
            if keys and comps.find(keys[0]) == mine:
                return ev
    return None


def add_placeholders(events: list[dict], rng: random.Random, rate: float, untrusted: frozenset[str]) -> None:
    """Replaces customer_id by the source's placeholder on about `rate` of the eligible events.

    Eligible: the event keeps another identifier that a *different* event ties to the customer,
    so stitching still places it; otherwise noise would silently delete touchpoints from journeys.
    """
    support: dict = {}
    for ev in events:
        if ev["customer_id"]:
            for key in _links(ev, untrusted):
                support[key] = support.get(key, 0) + 1
    for ev in events:
        if ev["customer_id"] and rng.random() < rate:
            keys = [(name, ev[name]) for name in _OTHER_IDENTIFIERS if ev[name] and ev[name] not in untrusted]
            if any(support.get(key, 0) >= 2 for key in keys):
                for key in keys:
                    support[key] -= 1
                ev["customer_id"] = PLACEHOLDER_BY_CHANNEL[ev["channel"]]
