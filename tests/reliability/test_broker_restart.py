"""Offsets that no longer exist: a broker restarted empty (or a re-created topic) is detected, recorded in
raw.ingest_gaps, and consumption resumes from the new log's start, so no event produced after the
restart is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import duckdb
import pytest

from journeys.pipelines.broker import EmbeddedBroker
from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from journeys.pipelines.topics import ensure_topics
from tests.conftest import touchpoint
from tests.helpers import file_rows

pytestmark = pytest.mark.slow


def restart_empty(broker: EmbeddedBroker, log_path) -> EmbeddedBroker:
    """Stop the broker and start a new, empty one on the same port (memory storage forgets everything)."""
    broker.stop()
    restarted = EmbeddedBroker(port=broker.port, log_path=log_path).start()
    ensure_topics(partitions=3)
    return restarted


def produce(prefix: str, n: int, channel: str = "web") -> None:
    with TouchpointProducer() as producer:
        producer.send_all(touchpoint(f"{prefix}-{i}", channel=channel, customer_id=f"c{i % 50}") for i in range(n))


def raw(settings, sql: str):
    return file_rows(settings.warehouse_path, sql)


def test_a_new_log_longer_than_the_stored_offsets_is_read_from_its_start(broker, settings, tmp_path):
    """3,000 events ingested; the broker restarts empty and 5,000 new ones arrive (every partition's new
    log is longer than its stored offset, the case that used to skip silently): all 5,000 load, and each
    partition that had stored offsets has a gap row."""
    produce("before", 3000)
    assert Ingester(settings).run(once=True).n_loaded == 3000
    restarted = restart_empty(broker, tmp_path / "tansu2.log")
    try:
        produce("after", 5000)
        report = Ingester(settings).run(once=True)
        again = Ingester(settings).run(once=True)  # the stored offsets now point into the new log
    finally:
        restarted.stop()
    assert report.n_loaded == 5000
    assert raw(settings, "select count(*) from raw.touchpoints where event_id like 'after-%'") == [(5000,)]
    assert raw(settings, "select count(distinct event_id) from raw.touchpoints") == [(8000,)]
    gaps = raw(settings, "select topic, partition, stored_offset, resume_offset, reason from raw.ingest_gaps order by 2")
    stored_before = raw(settings, "select sum(stored_offset) from raw.ingest_gaps")[0][0]
    assert [(t, p) for t, p, *_ in gaps] == [("touchpoints.web", 0), ("touchpoints.web", 1), ("touchpoints.web", 2)]
    assert stored_before == 3000  # the gap rows carry the offsets the old log had reached
    assert all(resume == 0 and "replaced" in reason for *_, resume, reason in gaps)
    assert len(report.gaps) == 3
    assert again.n_consumed == 0 and again.gaps == []


def test_a_new_log_shorter_than_the_stored_offsets_is_read_too(broker, settings, tmp_path):
    """3,000 ingested, restart, 300 new events (below every stored offset): all 300 load."""
    produce("before", 3000)
    Ingester(settings).run(once=True)
    restarted = restart_empty(broker, tmp_path / "tansu2.log")
    try:
        produce("after", 300)
        report = Ingester(settings).run(once=True)
    finally:
        restarted.stop()
    assert report.n_loaded == 300
    assert raw(settings, "select count(*) from raw.ingest_gaps") == [(3,)]


def test_an_untouched_log_is_not_a_gap(broker, settings):
    """Restarting the ingester (not the broker) records no gap and re-reads nothing."""
    produce("a", 1000)
    Ingester(settings).run(once=True)
    produce("b", 1000)
    report = Ingester(settings).run(once=True)
    assert (report.n_loaded, report.gaps) == (1000, [])
    assert raw(settings, "select count(*) from raw.ingest_gaps") == [(0,)]
    assert raw(settings, "select count(*), count(distinct event_id) from raw.touchpoints") == [(2000, 2000)]


def test_a_following_ingester_survives_a_broker_restart_without_losing_events(broker, settings, tmp_path):
    """A real `journeys ingest` process follows the topics; the broker restarts empty under it and new
    events are produced: every event produced (before and after) reaches raw, and the gap is recorded."""
    settings.home.mkdir(parents=True)
    (settings.home / "journeys.yaml").write_text("ingest_verify_interval_s: 1\ningest_batch_max_wait_s: 0.2\n")
    env = {**os.environ, "JOURNEYS_HOME": str(settings.home), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
    process = subprocess.Popen([sys.executable, "-m", "journeys.cli", "ingest", "--no-publish"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    restarted = None
    try:
        produce("before", 2000)
        wait_for(lambda: count(settings, "before-%") == 2000, process)
        restarted = restart_empty(broker, tmp_path / "tansu2.log")
        for batch in range(5):  # new events in several bursts, some landing before the check runs
            produce(f"after{batch}", 1000)
        wait_for(lambda: count(settings, "after%") >= 5000, process)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=60)
        if restarted is not None:
            restarted.stop()
    assert count(settings, "before-%") == 2000
    assert raw(settings, "select count(distinct event_id) from raw.touchpoints where event_id like 'after%'") == [(5000,)]
    assert raw(settings, "select count(*) > 0 from raw.ingest_gaps") == [(True,)]
    assert "ingest gap" in err


def count(settings, pattern: str) -> int:
    if not settings.warehouse_path.exists():
        return 0
    try:
        return raw(settings, f"select count(distinct event_id) from raw.touchpoints where event_id like '{pattern}'")[0][0]
    except duckdb.Error:  # the ingester holds the file for writing at this moment
        return -1


def wait_for(condition, process, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read()
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError("timed out")
