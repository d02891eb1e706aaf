"""Exactly once under crashes: `kill -9` the real ingester process again and again."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import duckdb
import pytest

from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow


def start_ingester(home, bootstrap) -> subprocess.Popen:
    env = {**os.environ, "JOURNEYS_HOME": str(home), "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.Popen([sys.executable, "-m", "journeys.cli", "ingest", "--no-publish"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def committed_total(group_id: str = "journeys-ingest") -> int:
    """Offsets the ingester committed to its Kafka group: it commits after each durable chunk."""
    from kafka import KafkaAdminClient

    from journeys.pipelines.kafka_config import client_config

    admin = KafkaAdminClient(**client_config())
    try:
        return sum(meta.offset for meta in admin.list_group_offsets(group_id).get(group_id, {}).values())
    finally:
        admin.close()


def wait_for_progress(process, previous: int, timeout_s: float = 90.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the ingester died by itself"
        current = committed_total()
        if current > previous:
            return current
        time.sleep(0.1)
    raise AssertionError("the ingester made no progress")


def test_repeated_kill_9_loses_nothing_and_duplicates_nothing(broker, settings):
    """6 rounds of: produce 4,000 more, wait until the ingester commits a chunk, let it run
    0-1.5 s more, SIGKILL it. Then drain with a fresh ingester."""
    settings.home.mkdir(parents=True)
    # Small chunks: many transactions, so kills land between and inside them.
    (settings.home / "journeys.yaml").write_text("ingest_chunk_messages: 300\ningest_batch_max_wait_s: 0.2\n")
    rng = random.Random(42)
    n_sent = committed = 0
    with TouchpointProducer() as producer:
        for round_number in range(6):
            producer.send_all(touchpoint(f"r{round_number}-{i}", channel=rng.choice(["web", "email", "store"]),
                                         customer_id=f"c{i % 97}") for i in range(4000))
            n_sent += 4000
            process = start_ingester(settings.home, broker.bootstrap_servers)
            committed = wait_for_progress(process, committed)
            time.sleep(rng.uniform(0.0, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait()
    report = Ingester(settings).run(once=True)  # drains whatever the killed runs did not commit
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    n_rows, n_events, n_positions = con.execute(
        "select count(*), count(distinct event_id), count(distinct (source_topic, source_partition, source_offset)) "
        "from raw.touchpoints").fetchone()
    assert n_rows == n_events == n_positions == n_sent
    assert con.execute("select count(*) from raw.dead_letters").fetchone()[0] == 0
    # the killed runs did real work: the final drain loaded only what they had not committed
    assert report.n_loaded < n_sent
    assert con.execute("select sum(next_offset) from raw.ingest_offsets").fetchone()[0] == n_sent
