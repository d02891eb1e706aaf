"""staging.stg_touchpoints: one row per event, the first-received copy, types normalised."""

from tests.helpers import build, events, one, rows, warehouse


def staged(con, event_id="e1"):
    return one(con, "select * from staging.stg_touchpoints where event_id = ?", [event_id])


def test_one_row_per_event_id(tmp_path):
    """Three deliveries of one event and one other event stage as two rows."""
    con = warehouse(tmp_path)
    events(con, [{"event_id": "e1"}, {"event_id": "e1"}, {"event_id": "e1"}, {"event_id": "e2"}])
    build(con)
    assert rows(con, "select event_id, n_deliveries from staging.stg_touchpoints order by event_id") == [
        {"event_id": "e1", "n_deliveries": 3},
        {"event_id": "e2", "n_deliveries": 1},
    ]


def test_dedup_keeps_the_earliest_received_copy(tmp_path):
    """Of two copies, the one received first is kept, whatever order they were loaded in."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_id": "e1", "received_at": "2024-03-01 10:05", "campaign": "second", "load_id": "l1"},
        {"event_id": "e1", "received_at": "2024-03-01 10:01", "campaign": "first", "load_id": "l2"},
    ])
    build(con)
    assert staged(con)["campaign"] == "first"


def test_copies_received_together_are_split_by_ingestion_then_offset(tmp_path):
    """Equal received_at: the earlier ingested copy wins; equal ingestion too: the lower offset."""
    con = warehouse(tmp_path)
    same = "2024-03-01 10:00"
    events(con, [
        {"event_id": "e1", "received_at": same, "ingested_at": "2024-03-01 10:09", "campaign": "ingested later"},
        {"event_id": "e1", "received_at": same, "ingested_at": "2024-03-01 10:02", "campaign": "ingested first"},
        {"event_id": "e2", "received_at": same, "ingested_at": same, "source_offset": 9, "campaign": "offset 9"},
        {"event_id": "e2", "received_at": same, "ingested_at": same, "source_offset": 4, "campaign": "offset 4"},
    ])
    build(con)
    assert staged(con, "e1")["campaign"] == "ingested first"
    assert staged(con, "e2")["campaign"] == "offset 4"


def test_a_copy_without_received_at_loses_to_one_with_it(tmp_path):
    """An unknown received_at sorts after every known one."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_id": "e1", "received_at": None, "ingested_at": "2024-03-01 08:00", "campaign": "unknown"},
        {"event_id": "e1", "received_at": "2024-03-01 12:00", "campaign": "known"},
    ])
    build(con)
    assert staged(con)["campaign"] == "known"


def test_event_ids_are_compared_trimmed(tmp_path):
    """' e1' and 'e1' are the same event."""
    con = warehouse(tmp_path)
    events(con, [{"event_id": "e1"}, {"event_id": " e1 "}])
    build(con)
    assert rows(con, "select event_id, n_deliveries from staging.stg_touchpoints") == [{"event_id": "e1", "n_deliveries": 2}]


def test_channel_and_event_type_are_lower_cased_and_trimmed(tmp_path):
    """' Web ' / ' Page_View ' stage as 'web' / 'page_view'."""
    con = warehouse(tmp_path)
    events(con, [{"channel": " Web ", "event_type": " Page_View "}])
    build(con)
    row = staged(con)
    assert (row["channel"], row["event_type"]) == ("web", "page_view")


def test_identifiers_are_trimmed_and_empty_strings_become_null(tmp_path):
    """Identifiers keep their case but lose surrounding spaces; '' and '  ' become NULL."""
    con = warehouse(tmp_path)
    events(con, [{"customer_id": " C1 ", "anonymous_id": "", "email_hash": "  ", "phone_hash": " ab12 ",
                  "loyalty_id": None, "session_id": "", "order_id": " o1 ", "currency": " eur "}])
    build(con)
    row = staged(con)
    assert {k: row[k] for k in ("customer_id", "anonymous_id", "email_hash", "phone_hash", "loyalty_id",
                                "session_id", "order_id", "original_currency")} == {
        "customer_id": "C1", "anonymous_id": None, "email_hash": None, "phone_hash": "ab12",
        "loyalty_id": None, "session_id": None, "order_id": "o1", "original_currency": "EUR",
    }


def test_persona_and_issue_category_come_from_properties(tmp_path):
    """properties['persona'] and properties['issue_category'] become columns; absent or empty is NULL."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_id": "e1", "properties": {"persona": "bargain_hunter", "issue_category": " billing ", "other": "x"}},
        {"event_id": "e2", "properties": {"persona": ""}},
    ])
    build(con)
    assert rows(con, "select event_id, persona, issue_category from staging.stg_touchpoints order by event_id") == [
        {"event_id": "e1", "persona": "bargain_hunter", "issue_category": "billing"},
        {"event_id": "e2", "persona": None, "issue_category": None},
    ]


def test_kept_copy_keeps_its_lineage(tmp_path):
    """source_topic, offset and load_id are the kept copy's."""
    con = warehouse(tmp_path)
    events(con, [
        {"event_id": "e1", "received_at": "2024-03-01 10:05", "source_offset": 70, "load_id": "later"},
        {"event_id": "e1", "received_at": "2024-03-01 10:01", "source_offset": 12, "load_id": "earlier"},
    ])
    build(con)
    row = staged(con)
    assert (row["source_topic"], row["source_offset"], row["load_id"]) == ("touchpoints.web", 12, "earlier")
