"""marts.support_tickets and marts.support_sla: response and resolution times, SLA breaches, repeat contacts.

Cases that read only support_tickets' direct inputs (response and resolution times, a late first
response, a survey on the ticket, repeat contacts) are dbt unit tests beside the model, in
transforms/models/marts/support_tickets.yml (run by tests/test_dbt_unit_tests.py)."""

from __future__ import annotations

import pytest

from tests.cx_inputs import AS_OF, Inputs, build_marts, one, rows

MARTS = ("marts.support_tickets", "marts.support_sla")


def build(settings, inputs, **values):
    """Only the marts this file tests (and what they read), for speed."""
    return build_marts(settings, inputs, only=MARTS, **values)


def _ticket(inputs: Inputs, ticket: str, channel: str, opened_h: float, *later: tuple[str, float],
            person_id: str = "p1", issue: str = "delivery") -> None:
    """A ticket opened at `opened_h` (hours after T0) with (event_type, hours after opening) follow-ups."""
    inputs.touch(f"{ticket}-open", channel, "ticket_opened", h=opened_h, person_id=person_id, ticket=ticket, issue=issue)
    for event_type, after_h in later:
        inputs.touch(f"{ticket}-{event_type}", channel, event_type, h=opened_h + after_h, person_id=person_id,
                     ticket=ticket, issue=issue)


def test_targets_come_from_settings(settings):
    """With a 6 h first-response target the same 5 h answer is on time."""
    inputs = Inputs()
    _ticket(inputs, "t1", "chat", 0, ("chat_reply", 5), ("ticket_resolved", 20))
    con = build(settings, inputs, ticket_first_response_target_s=6 * 3600)
    assert one(con, "select is_first_response_breached from marts.support_tickets")["is_first_response_breached"] is False


def test_open_ticket_past_its_targets_counts_as_breach(settings):
    """Opened 50 h before as_of and never answered: both targets breached, still open, age 180,000 s."""
    inputs = Inputs()
    _ticket(inputs, "t1", "chat", 150 * 24 - 50)
    con = build(settings, inputs, as_of=AS_OF)
    row = one(con, "select * from marts.support_tickets")
    assert (row["is_answered"], row["is_resolved"], row["age_s"]) == (False, False, 50 * 3600)
    assert (row["is_first_response_breached"], row["is_resolution_breached"]) == (True, True)


def test_share_of_tickets_per_issue_category(settings):
    """Three delivery tickets of five are 60%, ranked first; first-contact resolution and breach rates per slice."""
    inputs = Inputs()
    for n, issue in enumerate(("delivery", "billing", "delivery", "account", "delivery")):
        _ticket(inputs, f"t{n}", "chat", n * 24 * 30, ("chat_reply", 1), ("ticket_resolved", 5), person_id=f"p{n}",
                issue=issue)
    con = build(settings, inputs)
    by_issue = {r["dimension_value"]: r
                for r in rows(con, "select * from marts.support_sla where dimension = 'issue_category'")}
    assert by_issue["delivery"]["share_of_tickets"] == pytest.approx(0.6)
    assert by_issue["delivery"]["rank_by_tickets"] == 1
    assert sum(r["share_of_tickets"] for r in by_issue.values()) == pytest.approx(1.0)


def test_sla_rates_count_breaches_among_all_tickets(settings):
    """Of 4 tickets, 1 answered late and 1 open past both targets: first-response breach rate 2/4, resolution 1/4."""
    inputs = Inputs()
    _ticket(inputs, "t1", "chat", 0, ("chat_reply", 1), ("ticket_resolved", 5), person_id="p1")
    _ticket(inputs, "t2", "chat", 24 * 20, ("chat_reply", 6), ("ticket_resolved", 7), person_id="p2")
    _ticket(inputs, "t3", "call_center", 24 * 40, ("support_call", 2), ("ticket_resolved", 30), person_id="p3")
    _ticket(inputs, "t4", "call_center", 150 * 24 - 72, person_id="p4")
    con = build(settings, inputs)
    row = one(con, "select * from marts.support_sla where dimension = 'all'")
    assert (row["n_tickets"], row["n_open"], row["n_first_response_breached"], row["n_resolution_breached"]) == (4, 1, 2, 1)
    assert (row["first_response_breach_rate"], row["resolution_breach_rate"], row["breach_rate"]) == (0.5, 0.25, 0.5)
    assert row["median_first_response_s"] == 2 * 3600


def test_ticket_takes_the_persona_of_its_person(settings):
    """Support systems rarely know the persona: a B2B customer's chat ticket is sliced as b2b all the same."""
    inputs = Inputs()
    inputs.journey("j1", "p1", "web quote_request", "email purchase", persona="b2b")
    _ticket(inputs, "t1", "chat", 5, ("chat_reply", 1))
    con = build(settings, inputs)
    assert one(con, "select persona from marts.support_tickets")["persona"] == "b2b"
    b2b = one(con, "select * from marts.support_sla where dimension = 'persona' and dimension_value = 'b2b'")
    assert b2b["n_tickets"] == 1


def test_counts_are_zero_not_null_in_a_slice_without_such_tickets(settings):
    """One ticket, answered and resolved in time, never surveyed, no repeat: every count column of every
    slice is a number (count_if over only NULLs was NULL), the breach and repeat counts 0."""
    inputs = Inputs()
    _ticket(inputs, "t1", "call_center", 0, ("support_call", 2), ("ticket_resolved", 10))
    con = build(settings, inputs)
    slices = rows(con, "select * from marts.support_sla")
    nulls = [(k, r["dimension"]) for r in slices for k, v in r.items() if k.startswith("n_") and v is None]
    assert nulls == []
    assert {(r["n_breached"], r["n_repeat_contacts"], r["n_surveyed"]) for r in slices} == {(0, 0, 0)}
