"""An intended journey while a recipe writes it: steps in time order, in seconds from its start.

A step holds the business facts (what, where, order, ticket, scores); who the person appears as
on each channel is decided later by `events.py`, from the customer and the step's `known` flag.
"""

from __future__ import annotations

from typing import NamedTuple

CONVERSIONS = frozenset({"purchase", "subscription_start", "subscription_renewed"})
_LOGIN_CHANNELS = frozenset({"web", "mobile_app", "chat"})


class Step(NamedTuple):
    t_s: float
    channel: str
    event_type: str
    known: bool
    """Web, app and chat: the person is logged in. Call center: the agent verified the caller."""
    fields: dict | None
    """Contract fields to set (order_id, revenue, ticket_id, scores, campaign, ...)."""
    properties: dict[str, str] | None


class Plan:
    """Steps of one journey. `logged_in` holds the channels on which the person is signed in from now on."""

    __slots__ = ("steps", "t_s", "logged_in", "verified", "device", "returned")

    def __init__(self, device: str | None = "web", logged_in: tuple[str, ...] = ()):
        self.steps: list[Step] = []
        self.t_s = 0.0
        self.logged_in = set(logged_in)
        self.verified = False
        self.device = device
        """Device whose cookie or id ad platforms match social touches to ('web', 'mobile_app' or None)."""
        self.returned = False
        """The recipe stepped back to an earlier stage before converting (a complex journey)."""

    def add(self, event_type: str, channel: str, gap_s: float, fields: dict | None = None,
            properties: dict[str, str] | None = None, known: bool | None = None) -> None:
        """Appends a step `gap_s` after the previous one (at least a second, so times never tie)."""
        self.t_s += gap_s if gap_s >= 1.0 else 1.0
        if known is None:
            known = (channel in self.logged_in) if channel in _LOGIN_CHANNELS else (
                self.verified if channel == "call_center" else True)
        self.steps.append(Step(self.t_s, channel, event_type, known, fields, properties))

    def login(self, channel: str) -> None:
        self.logged_in.add(channel)

    @property
    def channels(self) -> set[str]:
        return {s.channel for s in self.steps}

    @property
    def duration_s(self) -> float:
        return self.steps[-1].t_s if self.steps else 0.0

    @property
    def converted(self) -> bool:
        return any(s.event_type in CONVERSIONS for s in self.steps)

    def scaled(self, factor: float) -> None:
        """Squeezes the journey in time (keeping order) when it is longer than the window it must fit."""
        self.steps = [s._replace(t_s=s.t_s * factor) for s in self.steps]
        self.t_s *= factor
