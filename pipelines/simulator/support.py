"""Support tickets: a contact opens one, an agent answers first, someone resolves it.

Conventions downstream relies on (one ticket_id on all of a ticket's events):
- `ticket_opened` on call_center or chat: the customer's contact; properties['issue_category'];
- the agent's first response: `support_call` (call_center, a call-back) or `chat_reply` (chat),
  with properties['actor'] = 'agent'; minutes to about a day after opening;
- `ticket_resolved` on the ticket's channel, hours to days later;
- some customers contact again within 7 days about the same issue: a new ticket, same category;
- a post-support survey_response may follow, referencing the ticket_id, worse after long waits.
Issue categories carry on every event of the ticket, so a pain-point query needs no join.
"""

from __future__ import annotations

import math
import random

from .catalog import ISSUE_CATEGORIES, ISSUE_WEIGHTS
from .identity import Customer
from .plan import Plan
from .surveys import scores, support_quality, survey
from .timing import DAY, HOUR, MINUTE, hours_s

FIRST_RESPONSE_MEDIAN_S = {"call_center": 2 * HOUR, "chat": 8 * MINUTE}
RESOLUTION_MEDIAN_S = 18 * HOUR
REPEAT_CONTACT_RATE = 0.15
SURVEY_RATE = 0.6


def _lognormal_s(rng: random.Random, median_s: float, sigma: float, lo_s: float, hi_s: float) -> float:
    return min(hi_s, max(lo_s, median_s * math.exp(rng.gauss(0.0, sigma))))


def ticket(p: Plan, rng: random.Random, c: Customer, channel: str, gap_s: float, order_id: str | None,
           survey_channel: str | None, category: str | None = None, repeat_allowed: bool = True) -> None:
    """One ticket, maybe its survey, maybe a repeat contact. `channel` is 'call_center' or 'chat'."""
    category = category or rng.choices(ISSUE_CATEGORIES, ISSUE_WEIGHTS)[0]
    ticket_fields = {"ticket_id": c.new_ticket_id(), "order_id": order_id}
    props = {"issue_category": category, "actor": "customer"}
    agent_props = {"issue_category": category, "actor": "agent"}
    if channel == "call_center":
        p.verified = True  # the agent checks who is calling before opening a ticket on the account
    p.add("ticket_opened", channel, gap_s, ticket_fields, props)
    first_response_s = _lognormal_s(rng, FIRST_RESPONSE_MEDIAN_S[channel], 1.2, 60.0, 30 * HOUR)
    p.add("support_call" if channel == "call_center" else "chat_reply", channel, first_response_s, ticket_fields, agent_props)
    resolution_s = first_response_s + _lognormal_s(rng, RESOLUTION_MEDIAN_S, 1.0, 10 * MINUTE, 6 * DAY)
    p.add("ticket_resolved", channel, resolution_s - first_response_s, ticket_fields, agent_props)
    if survey_channel and rng.random() < SURVEY_RATE:
        quality = support_quality(rng, first_response_s, resolution_s)
        answer = scores(rng, quality, ask_nps=rng.random() < 0.25, ask_csat=True, ask_ces=rng.random() < 0.7)
        survey(p, rng, survey_channel, hours_s(rng, 0.5, 30), {"ticket_id": ticket_fields["ticket_id"]}, "post_support", answer)
    if repeat_allowed and rng.random() < REPEAT_CONTACT_RATE:
        ticket(p, rng, c, channel, hours_s(rng, 4, 5 * 24), order_id, survey_channel, category, repeat_allowed=False)
