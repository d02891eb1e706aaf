"""Turns a customer's planned steps into contract events: identifiers, timestamps, ids, sessions.

Grain: one dict per touchpoint, keyed by every field of touchpoint.v1.avsc. Which identifiers an
event carries depends only on its channel, because that is what each source system can know:
web and app see a cookie or device id (plus the customer once signed in), e-mail and SMS tools
know the address or number they sent to, telephony sees the calling number, tills see the
loyalty card. The events of one customer are written in time order, ids counting up.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import journeys.schemas.contract as contract

from .identity import Customer
from .plan import Plan

_AVSC = Path(contract.__file__).resolve().parent / "touchpoint.v1.avsc"
FIELD_NAMES: tuple[str, ...] = tuple(f["name"] for f in json.loads(_AVSC.read_text())["fields"])
_BLANK = dict.fromkeys(FIELD_NAMES)

FORM_EVENT_TYPES = frozenset({"brochure_download", "webinar_attend", "demo_request", "quote_request"})
"""Web forms that ask for an e-mail address: they tie a cookie to an e-mail hash (a lead)."""
SWITCHBOARD_RATE = 0.08
"""Share of calls transferred through the switchboard, whose number the telephony logs instead."""
STORE_ACCOUNT_RATE = 0.4
"""Share of till transactions where the cashier also links the CRM account to the loyalty card."""
STORE_UPLOAD_HOUR = 2
SESSION_TIMEOUT_S = 1800.0
_NIGHT = dt.timedelta(days=1, hours=STORE_UPLOAD_HOUR)


class EventWriter:
    """Writes the events of one customer, journey after journey, from plans placed on the timeline."""

    def __init__(self, start: dt.datetime, seed: int, customer: Customer, rng: random.Random,
                 switchboard_hash: str, label: bool):
        self.start = start
        self.c = customer
        self.rng = rng
        self.switchboard_hash = switchboard_hash
        self.label = label
        self.id_prefix = f"{seed:x}-{customer.index:x}-"
        self.n = 0
        self.n_sessions = 0
        self.sessions: dict[str, list] = {}

    def write(self, plan: Plan, t0_s: float, journey_id: str) -> list[dict]:
        """`t0_s`: seconds from the simulation start at which the plan's clock starts."""
        c, rng = self.c, self.rng
        start, timedelta = self.start, dt.timedelta
        out = []
        for step in plan.steps:
            t_s = t0_s + step.t_s
            occurred = start + timedelta(seconds=t_s)
            channel = step.channel
            ev = _BLANK.copy()
            self.n += 1
            ev["event_id"] = f"{self.id_prefix}{self.n:x}"
            ev["occurred_at"] = occurred
            ev["channel"] = channel
            ev["event_type"] = step.event_type
            known = step.known
            if channel == "web" or channel == "chat":
                ev["anonymous_id"] = c.cookie
                known = known or c.shared_cookie
                if channel == "chat" or step.event_type in FORM_EVENT_TYPES:
                    ev["email_hash"] = c.email_hash
            elif channel == "mobile_app":
                ev["anonymous_id"] = c.app_device
            elif channel == "email":
                ev["email_hash"] = c.email_hash
            elif channel == "sms":
                ev["phone_hash"] = c.phone_hash
            elif channel == "store":
                ev["loyalty_id"] = c.ensure_loyalty_card()
                known = rng.random() < STORE_ACCOUNT_RATE
            elif channel == "call_center":
                if rng.random() < SWITCHBOARD_RATE:
                    ev["phone_hash"] = self.switchboard_hash
                    known = True  # the agent could not go by the number and asked who is calling
                else:
                    ev["phone_hash"] = c.phone_hash
            elif channel == "social":
                known = False
                if plan.device == "web" and not c.shared_cookie:
                    ev["anonymous_id"] = c.cookie
                elif plan.device == "mobile_app":
                    ev["anonymous_id"] = c.app_device
                else:
                    ev["email_hash"] = c.email_hash  # a hashed-e-mail audience match
            if known:
                ev["customer_id"] = c.customer_id
            if channel in ("web", "mobile_app", "chat"):
                ev["session_id"] = self._session(ev["anonymous_id"], t_s)
            if step.fields:
                ev.update(step.fields)
            props = dict(step.properties) if step.properties else {}
            if self.label:
                props["sim_journey_id"] = journey_id
            ev["properties"] = props
            if channel == "store":
                day = occurred.replace(hour=0, minute=0, second=0, microsecond=0)
                ev["received_at"] = day + _NIGHT + timedelta(seconds=rng.uniform(0.0, 2700.0))
            else:
                ev["received_at"] = occurred + timedelta(seconds=rng.uniform(0.2, 6.0))
            out.append(ev)
        return out

    def _session(self, device: str, t_s: float) -> str:
        """A visit: hits on one device with no pause longer than 30 minutes."""
        state = self.sessions.get(device)
        if state is None or t_s - state[0] > SESSION_TIMEOUT_S:
            self.n_sessions += 1
            state = self.sessions[device] = [t_s, f"{self.id_prefix}s{self.n_sessions:x}"]
        state[0] = t_s
        return state[1]
