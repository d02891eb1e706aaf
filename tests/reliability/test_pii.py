"""PII at the door: no raw e-mail address or phone number reaches a topic, the warehouse or a
dead letter, whichever way it comes in; the hashes that replace them are the documented ones.

Each case travels every path into the system against the real parts: a CSV and a JSON-lines file
through `journeys load` (loader.load_file) into a DuckDB file, and records through
TouchpointProducer to the embedded broker and `journeys ingest --once`, each with rows that are
loaded and rows that are dead-lettered. Afterwards the raw strings (as written, lower-case,
digits only) are searched in every byte of every file under the warehouse folder, in every value
of every table (DuckDB compresses strings, so the file bytes alone prove little), and in every
message value, key and header on every touchpoints.* topic.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path

import duckdb
import pytest
from kafka import KafkaConsumer, TopicPartition

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.loader import load_file
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.contract import DEAD_LETTER_TOPIC, TOPIC_PREFIX, pii_salt
from journeys.schemas.registry import Encoder, SchemaRegistry
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow

NOTE = "call me at +44 7700 900123 or ann@example.com"
NOTE_REDACTED = "call me at [phone redacted] or [email redacted]"
# case -> (field name, raw value); the kind follows from the name
CASES = {
    "Email": ("Email", "Ann.Upper@Example.COM"),
    "EMAIL": ("EMAIL", "bob.caps@example.org"),
    "email_address": ("email_address", "Cara+tag@Example.net"),
    "e-mail": ("e-mail", "dan@mail.example.co.uk"),
    "Mail": ("Mail", "Eve@Example.io"),
    "Phone": ("Phone", "+44 7700 900101"),
    "mobile": ("mobile", "07700 900202"),
    "tel": ("tel", "+1 (555) 010-0303"),
    "msisdn": ("msisdn", "447700900404"),
    "phone_number": ("phone_number", "+49 151 2345 0505"),
    "note": ("note", NOTE),
    "customer_id": ("customer_id", "Fay.Id@Example.com"),
}
EMAIL_CASES = {"Email", "EMAIL", "email_address", "e-mail", "Mail", "customer_id"}


def expected_hash(raw: str, kind: str) -> str:
    """The documented normalisation, worked independently: e-mail trimmed and lower-cased; phone
    digits only, a leading + kept; then sha256(salt + value)."""
    if kind == "email":
        value = raw.strip().lower()
    else:
        value = ("+" if raw.strip().startswith("+") else "") + "".join(c for c in raw if c.isdigit())
    return hashlib.sha256((pii_salt() + value).encode()).hexdigest()


def needles(raw: str) -> set[str]:
    """The raw PII in the spellings a leak could take: as written, lower-case, digits only."""
    parts = [raw] if raw != NOTE else ["+44 7700 900123", "ann@example.com"]
    found = set()
    for part in parts:
        found |= {part, part.lower()}
        digits = "".join(c for c in part if c.isdigit())
        if len(digits) >= 9:
            found |= {digits, "+" + digits}
    return found


def file_rows(field: str, raw: str) -> tuple[str, bytes]:
    """A CSV (loaded, dead-lettered, malformed) and a JSON-lines file (in properties: loaded, dead-lettered)."""
    base = "2025-01-01T10:00:00Z"
    if field == "customer_id":
        csv_text = ("event_id,occurred_at,channel,event_type,customer_id\n"
                    f"f1,{base},web,page_view,{raw}\nf2,{base},fax,page_view,{raw}\nf3,{raw}\n")
        lines = [{"event_id": "j1", "occurred_at": base, "channel": "web", "event_type": "page_view", "customer_id": raw},
                 {"event_id": "j2", "occurred_at": base, "channel": "fax", "event_type": "page_view", "customer_id": raw}]
    else:
        quoted = '"' + raw.replace('"', '""') + '"'
        csv_text = (f"event_id,occurred_at,channel,event_type,customer_id,{field}\n"
                    f"f1,{base},web,page_view,c1,{quoted}\nf2,{base},fax,page_view,c1,{quoted}\nf3,{quoted}\n")
        lines = [{"event_id": "j1", "occurred_at": base, "channel": "web", "event_type": "page_view", "customer_id": "c1",
                  "properties": {field: raw, "plan": "pro"}},
                 {"event_id": "j2", "occurred_at": base, "channel": "fax", "event_type": "page_view", "customer_id": "c1",
                  "properties": {field: raw}}]
    return csv_text, "\n".join(json.dumps(line) for line in lines).encode()


def kafka_records(field: str, raw: str) -> list[dict]:
    """k1 (top-level key) and k2 (property) are valid; k3 has no topic to go to (the producer
    dead-letters it); k4 is encodable but invalid (the consumer dead-letters it)."""
    if field == "customer_id":
        return [touchpoint("k1", customer_id=raw), touchpoint("k2", customer_id=raw),
                touchpoint("k3", channel="fax", customer_id=raw), touchpoint("k4", nps_score=11, customer_id=raw)]
    return [touchpoint("k1", **{field: raw}), touchpoint("k2", properties={field: raw, "plan": "pro"}),
            touchpoint("k3", channel="fax", **{field: raw}), touchpoint("k4", nps_score=11, properties={field: raw})]


def all_topic_bytes(n_expected: int) -> list[bytes]:
    """Every value, key and header of every message on every touchpoints.* topic, with a plain consumer."""
    consumer = KafkaConsumer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"], enable_auto_commit=False)
    partitions = [TopicPartition(t, p) for t in consumer.topics() if t.startswith(TOPIC_PREFIX)
                  for p in consumer.partitions_for_topic(t)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    blobs, n_messages, idle_since = [], 0, time.monotonic()
    while time.monotonic() - idle_since < (3 if n_messages >= n_expected else 20):
        for messages in consumer.poll(timeout_ms=200).values():
            idle_since = time.monotonic()
            for m in messages:
                n_messages += 1
                blobs += [m.value or b"", m.key or b"", *(value for _, value in m.headers or [])]
    consumer.close()
    assert n_messages == n_expected
    return blobs


def warehouse_strings(home: Path) -> tuple[list[bytes], list[str]]:
    """The bytes of every file under the warehouse folder (database, WAL, published copies,
    exports), and every value of every column of every table, as text."""
    files = [p.read_bytes() for p in home.rglob("*") if p.is_file()]
    values = []
    for path in [p for p in home.rglob("*.duckdb") if p.is_file()]:
        con = duckdb.connect(str(path), read_only=True)
        for schema, table in con.execute("select table_schema, table_name from information_schema.tables").fetchall():
            columns = [c for (c,) in con.execute("select column_name from information_schema.columns "
                                                 "where table_schema = ? and table_name = ?", [schema, table]).fetchall()]
            select = ", ".join(f'"{c}"::varchar' for c in columns)
            for row in con.execute(f'select {select} from "{schema}"."{table}"').fetchall():
                values += [v for v in row if v is not None]
            blobs = con.execute("select column_name from information_schema.columns where table_schema = ? and "
                                "table_name = ? and data_type = 'BLOB'", [schema, table]).fetchall()
            for (c,) in blobs:
                values += [b.decode("latin-1") for (b,) in con.execute(f'select "{c}" from "{schema}"."{table}"').fetchall() if b]
        con.close()
    return files, values


def assert_nowhere(raw: str, files: list[bytes], values: list[str], topic: list[bytes]) -> None:
    for needle in needles(raw):
        encoded = needle.encode()
        assert not any(encoded in blob for blob in files), f"{needle!r} in a warehouse file"
        assert not any(needle in value for value in values), f"{needle!r} in a warehouse value"
        assert not any(encoded in blob for blob in topic), f"{needle!r} on a topic"


@pytest.mark.parametrize("case", list(CASES))
def test_pii_never_lands_raw_and_hashes_as_documented(case, broker, settings, tmp_path):
    """Loaded and dead-lettered rows, from files and from Kafka: hashes where PII was, raw values nowhere."""
    field, raw = CASES[case]
    kind = "email" if case in EMAIL_CASES else "phone" if case != "note" else None
    csv_text, jsonl_bytes = file_rows(field, raw)
    (tmp_path / "in.csv").write_text(csv_text)
    (tmp_path / "in.jsonl").write_bytes(jsonl_bytes)
    loaded_csv = load_file(settings, tmp_path / "in.csv")
    loaded_json = load_file(settings, tmp_path / "in.jsonl")
    assert (loaded_csv.n_consumed, loaded_csv.n_loaded, loaded_csv.n_dead_lettered) == (3, 1, 2)
    assert (loaded_json.n_consumed, loaded_json.n_loaded, loaded_json.n_dead_lettered) == (2, 1, 1)
    with TouchpointProducer() as producer:
        producer.send_all(kafka_records(field, raw))
    assert (producer.n_sent, producer.n_dead_lettered) == (3, 1)
    ingested = Ingester(settings).run(once=True)
    assert (ingested.n_consumed, ingested.n_loaded, ingested.n_dead_lettered) == (4, 2, 2)

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    rows = {r[0]: r[1:] for r in con.execute(
        "select event_id, customer_id, email_hash, phone_hash, properties from raw.touchpoints").fetchall()}
    reasons = sorted(r for (r,) in con.execute("select reason from raw.dead_letters").fetchall())
    con.close()
    assert sorted(rows) == ["f1", "j1", "k1", "k2"]
    n_columns = 5 if case == "customer_id" else 6
    assert reasons == sorted([f"line 4 has 2 fields, expected {n_columns}", "unknown channel 'fax'", "unknown channel 'fax'",
                              "rejected by producer: unknown channel 'fax': no topic to send it to", "nps_score 11 outside 0-10"])
    if case == "customer_id":
        digest = expected_hash(raw, "email")
        assert all(r[0] == digest and r[1] == digest for r in rows.values())
    elif case == "note":
        assert [r[3].get("note") for r in (rows["f1"], rows["j1"], rows["k2"])] == [NOTE_REDACTED] * 3
        assert rows["j1"][3]["plan"] == "pro" and rows["k2"][3]["plan"] == "pro"
    else:
        column = 1 if kind == "email" else 2
        assert {k: r[column] for k, r in rows.items()} == dict.fromkeys(rows, expected_hash(raw, kind))
        assert all(field not in (r[3] or {}) for r in rows.values())
        assert rows["j1"][3]["plan"] == "pro" and rows["k2"][3]["plan"] == "pro"

    files, values = warehouse_strings(settings.home)
    assert_nowhere(raw, files, values, all_topic_bytes(4))


def test_a_third_party_message_is_scrubbed_at_ingest(broker, settings):
    """Bytes that bypassed our producer: raw PII on the topic, none in the warehouse; a rejected
    one keeps a decodable (re-encoded, scrubbed) payload; undecodable and dead-letter-topic bytes are redacted."""
    email, phone = "Third.Party@Example.com", "+44 7700 900999"
    raw_valid = touchpoint("t1", customer_id=email, campaign=f"spring for {email}",
                           properties={"Mobile": phone, "note": f"ring {phone}"})
    raw_invalid = touchpoint("t2", nps_score=11, properties={"E-Mail": email})
    encoder = Encoder()
    with TouchpointProducer() as producer:
        producer.send_encoded("touchpoints.web", b"k", encoder.encode(raw_valid))
        producer.send_encoded("touchpoints.web", b"k", encoder.encode(raw_invalid))
        producer.send_encoded("touchpoints.web", b"k", b"\x00not avro, mail " + email.encode())
        producer.send_encoded(DEAD_LETTER_TOPIC, None, json.dumps({"email": email, "phone": phone}).encode())
        producer.flush()
    ingested = Ingester(settings).run(once=True)
    assert (ingested.n_consumed, ingested.n_loaded, ingested.n_dead_lettered) == (4, 1, 3)

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    row = con.execute("select customer_id, email_hash, phone_hash, campaign, properties from raw.touchpoints").fetchone()
    payloads = {r: p for r, p in con.execute("select reason, payload from raw.dead_letters").fetchall()}
    con.close()
    assert row == (expected_hash(email, "email"), expected_hash(email, "email"), expected_hash(phone, "phone"),
                   "spring for [email redacted]", {"note": "ring [phone redacted]"})
    rejected = SchemaRegistry().decode(payloads["nps_score 11 outside 0-10"])
    assert rejected["email_hash"] == expected_hash(email, "email") and rejected["properties"] == {}
    files, values = warehouse_strings(settings.home)
    for needle in needles(email) | needles(phone):
        assert not any(needle.encode() in blob for blob in files) and not any(needle in v for v in values), needle


def test_producer_dead_letters_are_redacted_even_in_fields_it_does_not_know(broker):
    """An unknown top-level key and the reason text are searched as bytes too."""
    with TouchpointProducer() as producer:
        producer.dead_letter({"event_id": "x", "comment": "from bob@example.org", "nested": {"m": "+1 555 010 0909"}},
                             "cannot encode 'bob@example.org'")
        producer.flush()
    blobs = all_topic_bytes(1)
    assert not any(re.search(rb"bob@example|555 010 0909", blob) for blob in blobs)
    assert any(b"[email redacted]" in blob for blob in blobs)
