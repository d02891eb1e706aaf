"""Who a simulated customer is to each source system, and the identity noise real sources have.

Five identifier types, each owned by one kind of system: the CRM's customer_id, a web cookie or
app device id (anonymous_id), hashed e-mail (ESP, forms), hashed phone (telephony, SMS) and the
loyalty card (store tills). Raw e-mail addresses and phone numbers exist only inside `new_customer`,
long enough to be hashed with the contract's own functions.

Noise, on purpose, because identity stitching downstream must survive it:
- households share a device: one cookie used by two customers (both always signed in on it);
- transferred calls show the call center's switchboard number, shared by many customers;
- about 1% of events carry a placeholder customer_id ('guest', '0', '') from a source that
  could not resolve the customer (applied in `linking.py`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from journeys.schemas.contract import hash_email, hash_phone

from .catalog import COMPANIES, CURRENCIES, FIRST_NAMES, LAST_NAMES
from .personas import Persona

SWITCHBOARD_PHONE = "+44 20 7946 0000"
PLACEHOLDER_BY_CHANNEL = {"web": "guest", "mobile_app": "guest", "chat": "guest", "store": "0",
                          "email": "", "sms": "", "call_center": "", "social": ""}
"""What each source writes into customer_id when it has no real one (a guest checkout, a till
without a linked account, an export with an empty column)."""


@dataclass(slots=True)
class Customer:
    index: int
    customer_id: str
    persona: Persona
    currency: str
    shop: str
    """Preferred place to shop for B2C ('web', 'mobile_app' or 'store'); B2B always research on the web."""
    email_hash: str
    phone_hash: str
    cookie: str
    """Web cookie of the current journey; browsers lose cookies, so it may change between journeys."""
    app_device: str
    shared_cookie: bool
    """The cookie belongs to a household device that another customer signs in on too."""
    loyalty_id: str | None = None
    n_orders: int = 0
    n_tickets: int = 0
    n_subscriptions: int = 0

    def new_order_id(self) -> str:
        self.n_orders += 1
        return f"O{self.index + 1:07d}-{self.n_orders:03d}"

    def new_ticket_id(self) -> str:
        self.n_tickets += 1
        return f"T{self.index + 1:07d}-{self.n_tickets:03d}"

    def new_subscription_id(self) -> str:
        self.n_subscriptions += 1
        return f"S{self.index + 1:07d}-{self.n_subscriptions:02d}"

    def ensure_loyalty_card(self) -> str:
        """Loyalty numbers are a bijection of the customer index, so they never collide."""
        if self.loyalty_id is None:
            self.loyalty_id = f"L{(self.index * 7919 + 104729) % 10**9:09d}"
        return self.loyalty_id

    def new_cookie(self, rng: random.Random) -> None:
        if not self.shared_cookie:
            self.cookie = f"ck-{self.index:x}-{rng.getrandbits(32):08x}"


def new_customer(index: int, rng: random.Random, persona: Persona, household_cookie: str | None) -> Customer:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    if persona.name == "b2b":
        raw_email = f"{first}.{last}{index}@{rng.choice(COMPANIES)}.example"
        shop = "web"
    else:
        raw_email = f"{first}.{last}{index}@mail{rng.randrange(3)}.example"
        shop = "web" if household_cookie else rng.choices(("web", "mobile_app", "store"), (0.5, 0.3, 0.2))[0]
    raw_phone = f"+44 7{(index * 7919 + 13) % 10**9:09d}"
    customer = Customer(
        index=index,
        customer_id=f"C{index + 1:07d}",
        persona=persona,
        currency=rng.choices([c for c, _ in CURRENCIES], [w for _, w in CURRENCIES])[0],
        shop=shop,
        email_hash=hash_email(raw_email),
        phone_hash=hash_phone(raw_phone),
        cookie=household_cookie or "",
        app_device=f"dev-{index:x}-{rng.getrandbits(32):08x}",
        shared_cookie=household_cookie is not None,
    )
    customer.new_cookie(rng)
    if shop == "store":
        customer.ensure_loyalty_card()
    return customer


def household_cookies(customers: int, seed: int) -> dict[int, str]:
    """Pairs of neighbouring customers (2k, 2k+1) sharing one device: about one customer in 200."""
    n_pairs = min(customers // 2, max(1, customers // 400))
    rng = random.Random(f"{seed}:households")
    cookies = {}
    for k in rng.sample(range(customers // 2), n_pairs):
        cookie = f"ck-shared-{rng.getrandbits(48):012x}"
        cookies[2 * k] = cookies[2 * k + 1] = cookie
    return cookies


def switchboard_phone_hash() -> str:
    return hash_phone(SWITCHBOARD_PHONE)
