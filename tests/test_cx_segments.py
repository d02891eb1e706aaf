"""marts.customer_segments: RFM scores, named segments, high value and at-risk flags."""

from __future__ import annotations

from tests.cx_inputs import Inputs, at, build_marts, one, rows

MARTS = ("marts.customer_segments",)


def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)

# person: (days since the last order at as_of, orders of 10 each)
CUSTOMERS = {"p1": (1, 5), "p2": (10, 1), "p3": (30, 3), "p4": (60, 4), "p5": (120, 2)}


def _customers(**overrides: tuple[float, float, str]) -> Inputs:
    """Five customers with distinct recency, frequency and revenue; overrides: person -> (alive, clv, status)."""
    inputs = Inputs()
    for person, (recency_days, n_orders) in CUSTOMERS.items():
        last_h = (150 - recency_days) * 24
        steps = [f"web purchase revenue=10 order={person}-o{n} h={last_h - (n_orders - 1 - n)}" for n in range(n_orders)]
        inputs.journey(f"j-{person}", person, *steps, persona="b2b" if person == "p4" else "b2c")
        alive, clv, status = overrides.get(person, (0.9, 100.0, "active"))
        inputs.customer(person, alive, clv, status)
    return inputs


def test_rfm_scores_are_quintiles_five_best(settings):
    """Most recent, most frequent and biggest spender p1 scores 555; p5 (120 days, 2 orders) scores 122."""
    con = build(settings, _customers())
    scores = {r["person_id"]: r["rfm_score"] for r in rows(con, "select * from marts.customer_segments")}
    assert scores == {"p1": "555", "p2": "411", "p3": "333", "p4": "244", "p5": "122"}


def test_recency_frequency_and_monetary_values(settings):
    """p4: last order 60 days before as_of, 4 orders of 10."""
    con = build(settings, _customers())
    row = one(con, "select * from marts.customer_segments where person_id = 'p4'")
    assert (row["recency_days"], row["frequency"], row["monetary"], row["avg_order_value"]) == (60.0, 4, 40.0, 10.0)
    assert (row["last_purchase_at"], row["persona"]) == (at(d=90), "b2b")


def test_named_segments_follow_the_recency_frequency_grid(settings):
    """R5 F5 champions, R4 F1 new, R3 F3 loyal, R2 F4 at_risk, R1 F2 lost."""
    con = build(settings, _customers())
    segments = {r["person_id"]: r["rfm_segment"] for r in rows(con, "select * from marts.customer_segments")}
    assert segments == {"p1": "champions", "p2": "new", "p3": "loyal", "p4": "at_risk", "p5": "lost"}


def test_customers_with_equal_values_share_a_score(settings):
    """Two one-order customers both get F1, though ntile would split them across quintiles."""
    inputs = Inputs()
    for n, (person, orders) in enumerate((("a", 1), ("b", 1), ("c", 2), ("d", 3), ("e", 4))):
        inputs.journey(f"j-{person}", person, *[f"web purchase revenue=5 h={n * 24 + k}" for k in range(orders)])
    con = build(settings, inputs)
    f_scores = {r["person_id"]: r["f_score"] for r in rows(con, "select * from marts.customer_segments")}
    assert f_scores == {"a": 1, "b": 1, "c": 3, "d": 4, "e": 5}


def test_high_value_is_the_top_decile_of_predicted_clv(settings):
    """Of five customers only the highest predicted CLV is in the top 10%."""
    con = build(settings, _customers(p3=(0.9, 900.0, "active"), p1=(0.9, 500.0, "active")))
    flags = {r["person_id"]: (r["clv_decile"], r["is_high_value"]) for r in rows(con, "select * from marts.customer_segments")}
    assert flags["p3"] == (1, True)
    assert flags["p1"] == (3, False)
    assert sum(high for _, high in flags.values()) == 1


def test_at_risk_from_probability_alive_or_lifecycle(settings):
    """p2 is unlikely alive (0.2 < 0.3); p3 is alive but its lifecycle says at_risk; p1 is neither."""
    con = build(settings, _customers(p2=(0.2, 10.0, "new"), p3=(0.95, 50.0, "at_risk")))
    at_risk = {r["person_id"]: r["is_at_risk"] for r in rows(con, "select * from marts.customer_segments")}
    assert at_risk == {"p1": False, "p2": True, "p3": True, "p4": False, "p5": False}


def test_only_customers_with_a_conversion_are_segmented(settings):
    """A prospect who never bought has no RFM row."""
    inputs = _customers()
    inputs.journey("j-x", "prospect", "web page_view", "web add_to_cart")
    con = build(settings, inputs)
    assert one(con, "select count(*) as n from marts.customer_segments where person_id = 'prospect'")["n"] == 0
