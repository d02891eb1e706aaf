"""Consumer lag, as the Dagster sensor sees it, from the group offsets the ingester commits."""

from __future__ import annotations

import pytest
from dagster import RunRequest, SkipReason, build_sensor_context

from journeys.assets.jobs import consumer_lag_sensor
from journeys.pipelines.ingest import Ingester
from journeys.pipelines.lag import consumer_lag
from journeys.pipelines.producer import TouchpointProducer
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow


def test_lag_counts_unconsumed_messages_and_the_sensor_fires_above_threshold(broker, settings, monkeypatch, tmp_path):
    """12 produced, none ingested: lag 12, sensor (threshold 10) requests a run; after ingest lag 0, it skips."""
    with TouchpointProducer() as producer:
        for i in range(12):  # one batch each: tansu's end offset is the last batch's base offset + 1
            producer.send(touchpoint(f"e{i}", channel="web" if i % 2 else "email"))
            producer.flush()
    assert sum(consumer_lag("journeys-ingest").values()) == 12
    (tmp_path / "journeys.yaml").write_text("lag_sensor_threshold: 10\n")
    monkeypatch.setenv("JOURNEYS_CONFIG", str(tmp_path / "journeys.yaml"))
    assert isinstance(consumer_lag_sensor(build_sensor_context()), RunRequest)
    Ingester(settings).run(once=True)
    assert sum(consumer_lag("journeys-ingest").values()) == 0
    assert isinstance(consumer_lag_sensor(build_sensor_context()), SkipReason)
