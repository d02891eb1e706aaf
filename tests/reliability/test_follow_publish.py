"""Follow-mode ingest publishes the raw layer (Parquet parts) soon after its first chunk, not only after publish_interval_s."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from journeys.pipelines.producer import TouchpointProducer
from tests.conftest import touchpoint
from tests.helpers import raw_part_rows

pytestmark = pytest.mark.slow


def published_count(settings) -> int:
    """Touchpoints in the published raw Parquet parts."""
    found = raw_part_rows(settings, "select count(*) from parts")
    return found[0][0] if found else 0


def test_first_chunk_is_published_long_before_the_publish_interval(broker, settings):
    """publish_interval_s is 600 s; 500 events are visible in the published raw parts within 30 s."""
    settings.home.mkdir(parents=True)
    (settings.home / "journeys.yaml").write_text("publish_interval_s: 600\ningest_batch_max_wait_s: 0.2\n")
    env = {**os.environ, "JOURNEYS_HOME": str(settings.home), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
    process = subprocess.Popen([sys.executable, "-m", "journeys.cli", "ingest"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with TouchpointProducer() as producer:
            producer.send_all(touchpoint(f"e{i}", customer_id=f"c{i % 7}") for i in range(500))
        deadline = time.monotonic() + 30
        while published_count(settings) < 500 and time.monotonic() < deadline:
            assert process.poll() is None, process.stderr.read()
            time.sleep(0.3)
        assert published_count(settings) == 500
    finally:
        process.terminate()
        process.communicate(timeout=60)
