"""Contract-shaped touchpoints for throughput benchmarks: realistic field fill, ~200 bytes each."""

from __future__ import annotations

import datetime as dt
import random

from journeys.schemas.contract import CHANNELS

EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "purchase", "email_open", "support_call", "store_visit")


def sample_records(n: int, seed: int = 1):
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        at = start + dt.timedelta(seconds=rng.randrange(0, 180 * 86400))
        event_type = rng.choice(EVENT_TYPES)
        yield {
            "event_id": f"bench-{seed}-{i}", "occurred_at": at, "received_at": at + dt.timedelta(seconds=2),
            "channel": rng.choice(CHANNELS[:4]), "event_type": event_type,
            "customer_id": f"c{rng.randrange(50_000)}", "anonymous_id": f"a{rng.randrange(80_000)}",
            "email_hash": None, "phone_hash": None, "loyalty_id": None, "session_id": f"s{i // 7}",
            "order_id": f"o{i}" if event_type == "purchase" else None,
            "revenue": round(rng.uniform(5, 300), 2) if event_type == "purchase" else None,
            "currency": "EUR" if event_type == "purchase" else None, "campaign": "spring" if i % 5 == 0 else None,
            "source": "google", "medium": "cpc", "product_id": f"sku{rng.randrange(500)}", "ticket_id": None,
            "nps_score": None, "csat_score": None, "ces_score": None, "properties": {"persona": "b2c"},
        }
