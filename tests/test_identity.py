"""Identity stitching: which touchpoints are one person, and the merges it refuses."""

import datetime as dt
import hashlib

import pandas as pd

from journeys.transforms.identity import placeholder_pattern, stitch
from tests.helpers import build, events, one, rows, warehouse


def person(identifier_type, value):
    """The person_id the spec derives from an anchor identifier."""
    return "p_" + hashlib.md5(f"{identifier_type}:{value}".encode()).hexdigest()


def person_of(con, identifier_type, value):
    found = rows(con, "select person_id from marts.identity_map where identifier_type = ? and identifier_value = ?",
                 [identifier_type, value])
    return found[0]["person_id"] if found else None


def persons_of_events(con):
    return {r["event_id"]: r["person_id"] for r in rows(
        con, "select event_id, person_id from intermediate.int_touchpoints_stitched")}


def test_all_five_identifiers_link_into_one_person(tmp_path):
    """customer_id-anonymous_id, anonymous_id-email, email-phone, phone-loyalty on four events: one person."""
    con = warehouse(tmp_path)
    events(con, [
        {"customer_id": "c1", "anonymous_id": "a1"},
        {"anonymous_id": "a1", "email_hash": "e1"},
        {"email_hash": "e1", "phone_hash": "p1"},
        {"phone_hash": "p1", "loyalty_id": "l1"},
    ])
    build(con)
    assert set(persons_of_events(con).values()) == {person("customer_id", "c1")}
    assert one(con, "select * from marts.persons") == {
        "person_id": person("customer_id", "c1"), "customer_id": "c1", "persona": None, "is_shared_profile": False,
        "first_seen_at": dt.datetime(2024, 3, 1, 9), "last_seen_at": dt.datetime(2024, 3, 1, 12),
        "n_events": 4, "n_customer_ids": 1, "n_anonymous_ids": 1, "n_email_hashes": 1, "n_phone_hashes": 1,
        "n_loyalty_ids": 1,
    }


def test_links_are_transitive_without_a_customer_id(tmp_path):
    """a1 with e1, then e1 with p1: one person, named after its smallest identifier (anonymous_id a1)."""
    con = warehouse(tmp_path)
    events(con, [{"anonymous_id": "a1", "email_hash": "e1"}, {"email_hash": "e1", "phone_hash": "p1"}])
    build(con)
    assert {person_of(con, t, v) for t, v in [("anonymous_id", "a1"), ("email_hash", "e1"), ("phone_hash", "p1")]} == {
        person("anonymous_id", "a1")}


def test_anonymous_browsing_before_login_belongs_to_the_customer(tmp_path):
    """Two anonymous page views, then a login carrying the same device id: all three are c1's."""
    con = warehouse(tmp_path)
    events(con, [{"anonymous_id": "a1"}, {"anonymous_id": "a1"}, {"customer_id": "c1", "anonymous_id": "a1"}])
    build(con)
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": person("customer_id", "c1"),
                                      "e3": person("customer_id", "c1")}


def test_a_placeholder_never_links(tmp_path):
    """c1 and c2 both seen with anonymous_id 'guest' (any case, any spaces) stay two persons."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "guest"}, {"customer_id": "c2", "anonymous_id": " GUEST "}])
    build(con)
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": person("customer_id", "c2")}
    assert person_of(con, "anonymous_id", "GUEST") is None


def test_all_zero_values_are_placeholders(tmp_path):
    """A zeroed device id links nothing."""
    con = warehouse(tmp_path)
    zeros = "00000000-0000-0000-0000-000000000000"
    events(con, [{"customer_id": "c1", "anonymous_id": zeros}, {"customer_id": "c2", "anonymous_id": zeros}])
    build(con)
    assert len(set(persons_of_events(con).values())) == 2


def test_placeholders_are_listed_as_conflicts(tmp_path):
    """One conflict row per placeholder value, with the touchpoints that carried it."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "guest"}, {"customer_id": "c2", "anonymous_id": "guest"}])
    build(con)
    row = one(con, "select * from marts.identity_conflicts")
    assert (row["reason"], row["identifier_type"], row["identifier_value"], row["n_events"], row["n_customer_ids"]) == (
        "placeholder", "anonymous_id", "guest", 2, 2)


def test_an_event_with_only_placeholders_has_no_person_but_is_counted(tmp_path):
    """customer_id '0' and anonymous_id 'undefined': person_id NULL, kept in the stitched table, in no journey."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1"}, {"customer_id": "0", "anonymous_id": "undefined"}])
    build(con)
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": None}
    assert one(con, "select count(*) as n from marts.journey_steps")["n"] == 1


def test_placeholders_come_from_settings(tmp_path):
    """With identifier_placeholders=('shared-kiosk',), that value stops linking and 'guest' links again."""
    con = warehouse(tmp_path)
    events(con, [
        {"customer_id": "c1", "anonymous_id": "shared-kiosk"}, {"anonymous_id": "shared-kiosk"},
        {"customer_id": "c2", "anonymous_id": "guest"}, {"anonymous_id": "guest"},
    ])
    build(con, identifier_placeholders=("shared-kiosk",))
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": None,
                                      "e3": person("customer_id", "c2"), "e4": person("customer_id", "c2")}


def test_placeholders_with_quotes_backslashes_and_braces_reach_the_sql_intact(tmp_path):
    """Placeholder values travel as a regex through a dbt var into a SQL literal: a quote, a
    backslash, Jinja braces and a % each still match only themselves."""
    con = warehouse(tmp_path)
    tricky = ("o'brien", "back\\slash", "{{ 1 }}", "50%")
    events(con, [
        {"customer_id": "c1", "anonymous_id": "o'brien"}, {"customer_id": "c2", "anonymous_id": "O'Brien"},
        {"customer_id": "c3", "anonymous_id": "back\\slash"}, {"customer_id": "c4", "anonymous_id": "back\\slash"},
        {"customer_id": "c5", "anonymous_id": "{{ 1 }}"}, {"customer_id": "c6", "anonymous_id": "{{ 1 }}"},
        {"customer_id": "c7", "anonymous_id": "50%"}, {"customer_id": "c8", "anonymous_id": "50%"},
        {"customer_id": "c9", "anonymous_id": "50x"}, {"anonymous_id": "50x"},  # '%' is no wildcard: links
        {"customer_id": "c10", "anonymous_id": "1"}, {"anonymous_id": "1"},  # the braces were not rendered
    ])
    build(con, identifier_placeholders=tricky)
    found = persons_of_events(con)
    assert len({found[f"e{n}"] for n in range(1, 9)}) == 8  # no placeholder linked two customers
    assert found["e10"] == found["e9"] == person("customer_id", "c9")
    assert found["e12"] == found["e11"] == person("customer_id", "c10")
    conflicts = {r["identifier_value"] for r in rows(con, "select identifier_value from marts.identity_conflicts "
                                                          "where reason = 'placeholder'")}
    assert {v.lower() for v in conflicts} == set(tricky)


def test_two_customer_ids_are_never_merged(tmp_path):
    """Phone p1 (limit 2) with c1, then with c2: the second link is refused, p1 stays with c1."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "phone_hash": "p1"}, {"customer_id": "c2", "phone_hash": "p1"}])
    build(con)
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": person("customer_id", "c2")}
    assert person_of(con, "phone_hash", "p1") == person("customer_id", "c1")


def test_a_refused_merge_is_listed_with_both_customer_ids(tmp_path):
    """The conflict row names the identifier, the customer it stayed with and the one it was refused."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "phone_hash": "p1"}, {"customer_id": "c2", "phone_hash": "p1"}])
    build(con)
    row = one(con, "select * from marts.identity_conflicts")
    assert {k: row[k] for k in ("reason", "identifier_type", "identifier_value", "linked_identifier_type",
                                "linked_identifier_value", "customer_id", "refused_customer_id", "n_events")} == {
        "reason": "customer_id_conflict", "identifier_type": "phone_hash", "identifier_value": "p1",
        "linked_identifier_type": "customer_id", "linked_identifier_value": "c2",
        "customer_id": "c1", "refused_customer_id": "c2", "n_events": 1,
    }


def test_the_earlier_link_wins_a_conflict(tmp_path):
    """Seen with c2 first (by occurred_at, not by arrival), p1 stays with c2."""
    con = warehouse(tmp_path)
    events(con, [
        {"customer_id": "c1", "phone_hash": "p1", "occurred_at": "2024-03-02 09:00"},
        {"customer_id": "c2", "phone_hash": "p1", "occurred_at": "2024-03-01 09:00"},
    ])
    build(con)
    assert person_of(con, "phone_hash", "p1") == person("customer_id", "c2")


def test_a_conflict_through_a_chain_is_refused(tmp_path):
    """c1-a1, a1-e1, e1-c2: the link that would bring c2 in is refused; a1 and e1 stay with c1."""
    con = warehouse(tmp_path)
    events(con, [
        {"customer_id": "c1", "anonymous_id": "a1"},
        {"anonymous_id": "a1", "email_hash": "e1"},
        {"customer_id": "c2", "email_hash": "e1"},
    ])
    build(con)
    assert {person_of(con, "anonymous_id", "a1"), person_of(con, "email_hash", "e1")} == {person("customer_id", "c1")}
    assert person_of(con, "customer_id", "c2") == person("customer_id", "c2")
    row = one(con, "select reason, customer_id, refused_customer_id from marts.identity_conflicts")
    assert row == {"reason": "customer_id_conflict", "customer_id": "c1", "refused_customer_id": "c2"}


def test_an_identifier_over_its_person_limit_does_not_merge(tmp_path):
    """Device d1 (limit 1) seen with c1 and c2 is shared: c1 and c2 stay apart, no customer conflict."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "d1"}, {"customer_id": "c2", "anonymous_id": "d1"}])
    build(con)
    assert persons_of_events(con) == {"e1": person("customer_id", "c1"), "e2": person("customer_id", "c2")}
    row = one(con, "select * from marts.identity_conflicts")
    assert (row["reason"], row["identifier_value"], row["n_customer_ids"], row["person_limit"]) == (
        "shared_identifier", "d1", 2, 1)


def test_a_shared_identifier_links_nothing_else_either(tmp_path):
    """Shared device d1 also seen with e-mail e9: e9 is not pulled into anyone through d1."""
    con = warehouse(tmp_path)
    events(con, [
        {"customer_id": "c1", "anonymous_id": "d1"}, {"customer_id": "c2", "anonymous_id": "d1"},
        {"anonymous_id": "d1", "email_hash": "e9"},
    ])
    build(con)
    assert person_of(con, "email_hash", "e9") == person("email_hash", "e9")


def test_touchpoints_known_only_by_a_shared_identifier_form_its_own_profile(tmp_path):
    """Anonymous browsing on shared device d1 belongs to d1's profile, flagged as shared."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "d1"}, {"customer_id": "c2", "anonymous_id": "d1"},
                 {"anonymous_id": "d1"}])
    build(con)
    assert persons_of_events(con)["e3"] == person("anonymous_id", "d1")
    assert one(con, "select is_shared_profile from marts.persons where person_id = ?",
               [person("anonymous_id", "d1")]) == {"is_shared_profile": True}


def test_person_limits_come_from_settings(tmp_path):
    """With anonymous_id allowed 2 customers, d1 is not shared, so the customer rule refuses the merge."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "d1"}, {"customer_id": "c2", "anonymous_id": "d1"}])
    build(con, identifier_person_limits={"anonymous_id": 2})
    assert one(con, "select reason from marts.identity_conflicts") == {"reason": "customer_id_conflict"}
    assert person_of(con, "anonymous_id", "d1") == person("customer_id", "c1")


def test_person_ids_are_stable_across_rebuilds(tmp_path):
    """Rebuilding the same data gives the same person_ids."""
    con = warehouse(tmp_path)
    events(con, [{"anonymous_id": "a1", "email_hash": "e1"}, {"customer_id": "c1", "phone_hash": "p1"}])
    build(con)
    before = persons_of_events(con)
    build(con)
    assert persons_of_events(con) == before


def test_person_ids_do_not_move_when_unrelated_persons_arrive(tmp_path):
    """Persons whose identifiers did not change keep their ids when others are added, even smaller ones."""
    con = warehouse(tmp_path)
    events(con, [{"anonymous_id": "m5", "email_hash": "e5"}, {"customer_id": "c5", "phone_hash": "p5"}])
    build(con)
    before = persons_of_events(con)
    events(con, [{"anonymous_id": "a0", "email_hash": "e0"}, {"customer_id": "c0"}, {"customer_id": "c9"}])
    build(con)
    after = persons_of_events(con)
    assert {event: after[event] for event in before} == before == {
        "e1": person("anonymous_id", "m5"), "e2": person("customer_id", "c5")}


def test_the_most_durable_identifier_decides_a_touchpoints_person(tmp_path):
    """An event carrying c2 and a device already stitched to c1 belongs to c2."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": "c1", "anonymous_id": "a1"}, {"customer_id": "c2", "anonymous_id": "a1"}],)
    build(con, identifier_person_limits={"anonymous_id": 5})
    assert persons_of_events(con)["e2"] == person("customer_id", "c2")


def test_stitch_applies_links_in_time_order():
    """Pure stitch: the link seen first wins when two would join two customers."""
    identifiers = pd.DataFrame({"identifier_key": [1, 2, 3], "is_customer_id": [True, True, False],
                                "is_shared": [False, False, False]})
    links = pd.DataFrame({
        "identifier_key_a": [1, 2], "identifier_key_b": [3, 3],
        "first_seen_at": pd.to_datetime(["2024-01-02", "2024-01-01"]), "first_event_id": ["x", "y"],
    })
    assert stitch(identifiers, links).to_dict("list") == {"identifier_key": [1, 2, 3], "anchor_key": [1, 2, 2]}


def test_placeholder_pattern_matches_listed_values_and_zeros():
    """The pattern matches listed words (lower-cased input) and all-zero strings, nothing else."""
    import re

    pattern = re.compile(placeholder_pattern(["", "N/A", "-1"]))
    matches = [v for v in ["", "n/a", "-1", "0", "000", "0000-00", "a0", "10", "-", "guest"] if pattern.fullmatch(v)]
    assert matches == ["", "n/a", "-1", "0", "000", "0000-00"]
