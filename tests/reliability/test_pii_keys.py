"""An address or number in a column header or a property key is redacted like any text, and numbered
fields (`Phone 1`, `E-mail 2`, as CRM exports write them) are PII fields: nothing raw is stored."""

from __future__ import annotations

import hashlib

import duckdb
import pytest

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.loader import load_file
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.contract import pii_salt, topic_for
from journeys.schemas.registry import Encoder
from tests.conftest import touchpoint

RAW = ("ann.header@x.org", "carol.key@x.org", "555-1234", "bob.two@x.org", "frank.key@x.org", "5551234")


def stored_text(settings) -> str:
    """Every value of raw.touchpoints and raw.dead_letters as text, plus the working file's bytes."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        text = str(con.execute("select * from raw.touchpoints").fetchall()) + str(
            [(r[0], bytes(r[1]).decode("latin-1") if r[1] else "", r[2])
             for r in con.execute("select source_topic, payload, reason from raw.dead_letters").fetchall()])
    finally:
        con.close()
    return text + settings.warehouse_path.read_bytes().decode("latin-1")


def test_headers_and_numbered_fields_in_a_file(settings, tmp_path):
    """A header that is an address is redacted; `Phone 1` and `E-mail 2` are hashed into the identifier
    hashes (first one wins) and dropped; a JSON-lines property key that is an address is redacted; a
    row dead-lettered for its time keeps none of them either."""
    path = tmp_path / "crm.csv"
    path.write_text("event_id,occurred_at,channel,event_type,customer_id,ann.header@x.org,Phone 1,E-mail 2\n"
                    "e1,2025-03-01 10:00:00,web,page_view,c1,yes,555-1234,bob.two@x.org\n"
                    "e2,not-a-time,web,page_view,c1,yes,555-1234,bob.two@x.org\n")
    jsonl = tmp_path / "keys.jsonl"
    jsonl.write_text('{"event_id": "j1", "occurred_at": "2025-03-01 11:00:00", "channel": "web", '
                     '"event_type": "page_view", "customer_id": "c2", "properties": {"carol.key@x.org": "vip"}}\n')
    first = load_file(settings, path)
    second = load_file(settings, jsonl)
    assert (first.n_loaded, first.n_dead_lettered, second.n_loaded) == (1, 1, 1)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    rows = dict((r[0], r[1:]) for r in con.execute(
        "select event_id, email_hash, phone_hash, properties from raw.touchpoints").fetchall())
    con.close()
    salt = pii_salt()
    assert rows["e1"][0] == hashlib.sha256((salt + "bob.two@x.org").encode()).hexdigest()
    assert rows["e1"][1] == hashlib.sha256((salt + "5551234").encode()).hexdigest()
    assert rows["e1"][2] == {"[email redacted]": "yes"}
    assert rows["j1"][2] == {"[email redacted]": "vip"}
    text = stored_text(settings)
    assert [raw for raw in RAW if raw in text] == []


@pytest.mark.slow
def test_a_property_key_that_is_an_address_from_a_third_party_producer(broker, settings):
    """Sent unscrubbed (send_encoded): the key is redacted at ingest, `Phone 1` is hashed and dropped."""
    record = touchpoint("k1", properties={"frank.key@x.org": "1", "Phone 1": "555-1234"})
    with TouchpointProducer() as producer:
        producer.send_encoded(topic_for("web"), b"c1", Encoder().encode(record))
        producer.flush()
    assert Ingester(settings).run(once=True).n_loaded == 1
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    properties, phone_hash = con.execute("select properties, phone_hash from raw.touchpoints").fetchone()
    con.close()
    assert properties == {"[email redacted]": "1"}
    assert phone_hash == hashlib.sha256((pii_salt() + "5551234").encode()).hexdigest()
    assert [raw for raw in RAW if raw in stored_text(settings)] == []
