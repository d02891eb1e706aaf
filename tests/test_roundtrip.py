"""Every channel through the real broker into a real DuckDB file, and PII never arrives raw."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from kafka import KafkaConsumer, TopicPartition

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.kafka_config import client_config
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.contract import CHANNELS, hash_email, hash_phone
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow


def test_every_channel_round_trips_field_for_field(broker, settings):
    """What goes in on each channel's topic comes out in raw.touchpoints unchanged."""
    sent = [touchpoint(f"e-{channel}", channel=channel, event_type="purchase", minutes=i, customer_id=f"c{i}",
                       order_id=f"o{i}", revenue=10.5 + i, currency="EUR", campaign="spring", nps_score=9,
                       csat_score=4, ces_score=2, properties={"persona": "b2c", "k": str(i)})
            for i, channel in enumerate(CHANNELS)]
    with TouchpointProducer() as producer:
        producer.send_all(sent)
    report = Ingester(settings).run(once=True)
    assert (report.n_consumed, report.n_loaded, report.n_dead_lettered) == (8, 8, 0)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    rows = con.sql("select event_id, channel, source_topic, occurred_at, customer_id, revenue, nps_score, "
                   "csat_score, ces_score, properties from raw.touchpoints order by occurred_at").fetchall()
    for row, record in zip(rows, sent, strict=True):
        assert row[0] == record["event_id"] and row[1] == record["channel"]
        assert row[2] == f"touchpoints.{record['channel']}"
        assert row[3] == record["occurred_at"].replace(tzinfo=None)
        assert row[4:9] == (record["customer_id"], record["revenue"], 9, 4, 2)
        assert row[9] == record["properties"]


def test_raw_email_and_phone_never_reach_kafka_or_the_warehouse(broker, settings):
    """The producer hashes them; neither the topic bytes nor the DuckDB file contain them."""
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint("p1", email="Jane.Doe@Example.com", phone="+44 20 7946 0958", customer_id=None)])
    consumer = KafkaConsumer(**client_config())
    tp = TopicPartition("touchpoints.web", 0)
    topic_bytes = b""
    for partition in consumer.partitions_for_topic("touchpoints.web"):
        tp = TopicPartition("touchpoints.web", partition)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        topic_bytes += b"".join(m.value for ms in consumer.poll(timeout_ms=2000).values() for m in ms)
    consumer.close()
    assert topic_bytes and b"Jane" not in topic_bytes and b"7946" not in topic_bytes
    Ingester(settings).run(once=True)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    email_hash, phone_hash = con.execute("select email_hash, phone_hash from raw.touchpoints").fetchone()
    con.close()
    assert email_hash == hash_email("jane.doe@example.com") and phone_hash == hash_phone("+442079460958")
    file_bytes = settings.warehouse_path.read_bytes()
    assert b"Jane.Doe" not in file_bytes and b"jane.doe" not in file_bytes and b"7946 0958" not in file_bytes


def test_second_run_resumes_from_stored_offsets(broker, settings):
    """Ingesting twice loads each message once."""
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint(f"a{i}") for i in range(5)])
    assert Ingester(settings).run(once=True).n_loaded == 5
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint(f"b{i}") for i in range(3)])
    assert Ingester(settings).run(once=True).n_loaded == 3
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select count(*), count(distinct event_id) from raw.touchpoints").fetchone() == (8, 8)


def test_timestamps_are_stored_as_utc(broker, settings):
    """An event at 14:00+02:00 is stored as 12:00."""
    at = dt.datetime(2025, 3, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint("tz", occurred_at=at, received_at=at)])
    Ingester(settings).run(once=True)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select occurred_at from raw.touchpoints").fetchone()[0] == dt.datetime(2025, 3, 1, 12, 0)
