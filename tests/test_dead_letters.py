"""Bad input never stops the consumer and is never dropped: each case lands in raw.dead_letters."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from journeys.schemas.registry import Encoder
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow

FAR_FUTURE = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)

# Each invalid record is encodable (so it reaches the consumer) and breaks exactly one rule.
INVALID = {
    "no-identifier": (touchpoint("bad-1", customer_id=None), "no identifier"),
    "unknown-channel": (touchpoint("bad-2", channel="fax"), "unknown channel 'fax'"),
    "future": (touchpoint("bad-3", occurred_at=FAR_FUTURE, received_at=FAR_FUTURE), "in the future"),
    "negative-revenue": (touchpoint("bad-4", event_type="purchase", revenue=-5.0), "negative revenue"),
    "nps": (touchpoint("bad-5", event_type="survey_response", nps_score=11), "nps_score 11 outside 0-10"),
    "csat": (touchpoint("bad-6", event_type="survey_response", csat_score=0), "csat_score 0 outside 1-5"),
    "ces": (touchpoint("bad-7", event_type="survey_response", ces_score=8), "ces_score 8 outside 1-7"),
    "empty-event-id": (touchpoint("", ), "missing event_id"),
}


def test_every_invalid_case_is_dead_lettered_with_its_reason_and_counts_reconcile(broker, settings):
    """8 invalid messages + 1 garbage + 3 valid ones: consumed 12 = loaded 3 + dead-lettered 9."""
    encoder = Encoder()
    with TouchpointProducer() as producer:
        producer.send_all([touchpoint("ok-1"), touchpoint("ok-2", event_type="brand_new_type"),
                           touchpoint("ok-3", customer_id="guest")])
        for record, _ in INVALID.values():
            producer.send_encoded("touchpoints.web", b"k", encoder.encode(record))
        producer.send_encoded("touchpoints.store", b"k", b"\x00garbage that is not avro")
        producer.flush()
    report = Ingester(settings).run(once=True)
    assert (report.n_consumed, report.n_loaded, report.n_dead_lettered) == (3 + len(INVALID) + 1, 3, len(INVALID) + 1)

    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    reasons = dict(con.execute("select payload, reason from raw.dead_letters").fetchall())
    for record, expected in INVALID.values():
        assert expected in reasons[encoder.encode(record)], (record["event_id"], reasons[encoder.encode(record)])
    assert reasons[b"\x00garbage that is not avro"].startswith("not Avro single-object encoded")
    topics = con.execute("select source_topic, source_partition is not null, source_offset is not null "
                         "from raw.dead_letters").fetchall()
    assert all(t[1] and t[2] for t in topics)
    # unknown event types and placeholder identifiers are valid data: later layers flag them
    assert con.execute("select count(*) from raw.touchpoints where event_id in ('ok-2', 'ok-3')").fetchone()[0] == 2
    runs = con.execute("select sum(n_consumed), sum(n_loaded), sum(n_dead_lettered) from raw.load_runs").fetchone()
    assert runs == (report.n_consumed, 3, len(INVALID) + 1)


def test_truncated_avro_body_is_dead_lettered(broker, settings):
    """A message cut short decodes to an error, not a crash."""
    good = Encoder().encode(touchpoint("trunc", event_type="purchase", revenue=12.0))
    with TouchpointProducer() as producer:
        producer.send_encoded("touchpoints.web", b"k", good[:-7])
        producer.send_all([touchpoint("after")])
    report = Ingester(settings).run(once=True)
    assert (report.n_loaded, report.n_dead_lettered) == (1, 1)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.execute("select reason from raw.dead_letters").fetchone()[0].startswith("corrupt Avro body")


def test_producer_side_rejects_reach_raw_dead_letters(broker, settings):
    """A record the producer cannot encode travels the dead-letter topic into raw.dead_letters."""
    with TouchpointProducer() as producer:
        producer.send({"event_id": "x", "channel": "web", "event_type": "page_view", "customer_id": "c1",
                       "occurred_at": "not a time"})
        producer.send({"event_id": "y", "channel": "pager", "customer_id": "c1"})
        producer.flush()
    report = Ingester(settings).run(once=True)
    assert (report.n_loaded, report.n_dead_lettered) == (0, 2)
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    reasons = sorted(r[0] for r in con.execute("select reason from raw.dead_letters").fetchall())
    assert reasons[0].startswith("rejected by producer: cannot encode") and "unknown channel 'pager'" in reasons[1]
