"""What the simulated business sells and how it markets itself: products, plans, campaigns, issues.

Built from its own constant seed, so every simulation sells the same catalogue at the same prices
and only the customers differ between seeds. Prices are in major units of the customer's currency.
"""

from __future__ import annotations

import math
import random

CURRENCIES = (("EUR", 0.7), ("USD", 0.3))


def _prices(n: int, median: float, sigma: float, seed: int, step: float) -> tuple[float, ...]:
    """Log-normal price points, rounded to `step` and ending in .99 for consumer items, as shops price."""
    rng = random.Random(seed)
    prices = []
    for _ in range(n):
        raw = median * math.exp(rng.gauss(0.0, sigma))
        rounded = max(step, round(raw / step) * step)
        prices.append(round(rounded - 0.01, 2) if step == 1.0 else float(rounded))
    return tuple(prices)


B2C_PRODUCTS: tuple[tuple[str, float], ...] = tuple(
    (f"P{n:04d}", price) for n, price in enumerate(_prices(400, 45.0, 0.75, 11, 1.0), start=1)
)
"""Consumer items, (product_id, unit price). Popular items are the low numbers (see pick_product)."""

B2B_PRODUCTS: tuple[tuple[str, float], ...] = tuple(
    (f"B{n:03d}", price) for n, price in enumerate(_prices(60, 8000.0, 0.8, 12, 10.0), start=1)
)
"""Business equipment and licences sold on a quote, (product_id, deal value)."""

B2C_PLANS = (("SUB-BASIC", 9.99), ("SUB-PLUS", 14.99), ("SUB-FAMILY", 24.99))
B2B_PLANS = (("SAAS-TEAM", 249.0), ("SAAS-BUSINESS", 890.0), ("SAAS-ENTERPRISE", 2900.0))
"""Monthly subscription plans, (product_id, price per month)."""


def pick_product(rng: random.Random, products: tuple[tuple[str, float], ...]) -> tuple[str, float]:
    """A few best-sellers take most of the views, as in any shop (squared uniform skews to the front)."""
    return products[int(len(products) * rng.random() ** 2)]


def _utm(*rows: tuple[str, str, str]) -> tuple[dict[str, str], ...]:
    return tuple({"campaign": c, "source": s, "medium": m} for c, s, m in rows)


CAMPAIGNS: dict[str, tuple[dict[str, str], ...]] = {
    "paid_social": _utm(("spring_sale", "instagram", "paid_social"), ("new_collection", "facebook", "paid_social"),
                        ("creator_video", "tiktok", "paid_social")),
    "organic_social": _utm(("brand_content", "instagram", "social"), ("community_posts", "facebook", "social")),
    "search": _utm(("brand_search", "google", "cpc"), ("generic_search", "google", "cpc"), ("shopping_ads", "bing", "cpc")),
    "display": _utm(("prospecting", "google", "display"), ("retargeting", "criteo", "display")),
    "in_app": _utm(("in_app_promo", "admob", "display"),),
    "newsletter": _utm(("newsletter_weekly", "newsletter", "email"), ("spring_sale", "newsletter", "email"),
                       ("new_arrivals", "newsletter", "email")),
    "cart_recovery": _utm(("cart_recovery", "crm", "email"),),
    "winback": _utm(("winback", "crm", "email"), ("reorder_reminder", "crm", "email")),
    "b2b_email": _utm(("b2b_nurture", "hubspot", "email"), ("webinar_invite", "hubspot", "email"),
                      ("case_study", "hubspot", "email")),
    "b2b_social": _utm(("abm_decision_makers", "linkedin", "paid_social"), ("thought_leadership", "linkedin", "paid_social")),
}
"""utm-like (campaign, source, medium) triples by kind of placement."""

ISSUE_CATEGORIES = ("delivery", "billing", "product_defect", "returns", "account")
ISSUE_WEIGHTS = (0.32, 0.20, 0.18, 0.16, 0.14)
"""Support contact reasons. Skewed on purpose: 'delivery' is the ~30% of tickets a pain-point
analysis should find."""

FIRST_NAMES = ("anna", "ben", "clara", "david", "emma", "felix", "greta", "hugo", "ida", "jonas", "lea", "max",
               "nora", "oskar", "paula", "raphael", "sofia", "tom", "una", "viktor")
LAST_NAMES = ("meyer", "schmidt", "dubois", "rossi", "garcia", "smith", "jansen", "novak", "silva", "kowalski")
COMPANIES = ("acme", "globex", "initech", "umbrella", "stark", "wayne", "wonka", "tyrell", "cyberdyne", "hooli")
"""Parts of the fake raw e-mail addresses; only their hashes ever leave the simulator."""
