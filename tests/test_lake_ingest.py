"""The raw lake under several ingesters in one consumer group (engine spark): the real embedded
broker, real `journeys ingest` processes, real kill -9, and the lake read back with DuckDB."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from journeys.pipelines import lake
from journeys.pipelines.ingest import Ingester
from journeys.pipelines.producer import TouchpointProducer
from tests.conftest import touchpoint

pytestmark = pytest.mark.slow

LAKE_ENV = {"JOURNEYS_ENGINE": "spark", "JOURNEYS_INGEST_SESSION_TIMEOUT_S": "6",
            "JOURNEYS_INGEST_CHUNK_MESSAGES": "400", "JOURNEYS_INGEST_BATCH_MAX_WAIT_S": "0.2",
            "JOURNEYS_INGEST_DECODE_WORKERS": "0"}


@pytest.fixture
def lake_settings(settings, monkeypatch):
    for name, value in LAKE_ENV.items():
        monkeypatch.setenv(name, value)
    return settings.replace(engine="spark", ingest_session_timeout_s=6, ingest_chunk_messages=400,
                            ingest_batch_max_wait_s=0.2, ingest_decode_workers=0)


def start_ingester(settings, bootstrap: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, **LAKE_ENV, "JOURNEYS_HOME": str(settings.home), "KAFKA_BOOTSTRAP_SERVERS": bootstrap}
    return subprocess.Popen([sys.executable, "-m", "journeys.cli", "-v", "ingest"], env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("ab"))


def lake_counts(settings) -> tuple[int, int, int]:
    """Rows in the lake's touchpoints, distinct event ids, distinct (topic, partition, offset)."""
    if not list((settings.lake_path / lake.TOUCHPOINTS_DIR).glob("*/*/*.parquet")):
        return 0, 0, 0
    try:
        return duckdb.connect().execute(f"select count(*), count(distinct event_id), "
                          f"count(distinct (source_topic, source_partition, source_offset)) "
                          f"from ({lake.touchpoints_sql(settings.lake_path)})").fetchone()
    except duckdb.IOException:  # no file yet
        return 0, 0, 0


def commit_writers(settings) -> set[str]:
    return {json.loads(p.read_text())["writer"]
            for p in (settings.lake_path / lake.COMMITS_DIR).glob("*/*.json")}


def wait_until(condition, what: str, processes=(), timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process in processes:
            assert process.poll() is None, f"an ingester died by itself (exit {process.returncode})"
        if condition():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def produce(producer: TouchpointProducer, prefix: str, n: int, rng: random.Random) -> int:
    producer.send_all(touchpoint(f"{prefix}-{i}", channel=rng.choice(["web", "email", "store", "call_center"]),
                                 customer_id=f"c{i % 89}") for i in range(n))
    return n


def test_two_ingesters_split_the_partitions_and_a_third_joins(broker, lake_settings, tmp_path):
    rng = random.Random(7)
    log = tmp_path / "ingesters.log"
    with TouchpointProducer() as producer:
        n_sent = produce(producer, "a", 3000, rng)
        everyone = [start_ingester(lake_settings, broker.bootstrap_servers, log) for _ in range(2)]
        try:
            wait_until(lambda: lake_counts(lake_settings)[0] == n_sent, "the first 3,000", everyone)
            assert len(commit_writers(lake_settings)) == 2, "both members of the group committed partitions"
            everyone.append(start_ingester(lake_settings, broker.bootstrap_servers, log))
            for round_number in range(4):  # keep producing through the rebalance the third causes
                n_sent += produce(producer, f"b{round_number}", 1500, rng)
                time.sleep(1.5)
            wait_until(lambda: lake_counts(lake_settings)[0] >= n_sent and len(commit_writers(lake_settings)) == 3,
                       "every event, and commits by the third ingester", everyone)
        finally:
            for process in everyone:
                process.send_signal(signal.SIGTERM)
            for process in everyone:
                process.wait(timeout=60)
    n_rows, n_events, n_positions = lake_counts(lake_settings)
    assert n_rows == n_events == n_positions == n_sent, log.read_text()[-3000:]
    assert not list((lake_settings.lake_path / lake.INCOMING_DIR).glob("*/*")), "no file left uncommitted"


def test_kill_9_in_a_group_loses_nothing_and_duplicates_nothing(broker, lake_settings, tmp_path):
    """Two ingesters; five times: produce more, kill -9 one of them mid-stream, start a new one.
    Then a lone `--once` member drains what is left."""
    rng = random.Random(11)
    log = tmp_path / "ingesters.log"
    n_sent = 0
    with TouchpointProducer() as producer:
        running = [start_ingester(lake_settings, broker.bootstrap_servers, log) for _ in range(2)]
        try:
            for round_number in range(5):
                n_sent += produce(producer, f"r{round_number}", 2500, rng)
                before = lake_counts(lake_settings)[0]
                wait_until(lambda before=before: lake_counts(lake_settings)[0] > before, "progress", running)
                time.sleep(rng.uniform(0.0, 1.0))
                victim = running.pop(rng.randrange(len(running)))
                victim.send_signal(signal.SIGKILL)
                victim.wait()
                running.append(start_ingester(lake_settings, broker.bootstrap_servers, log))
        finally:
            for process in running:
                process.send_signal(signal.SIGKILL)
                process.wait()
    report = Ingester(lake_settings, group_id="journeys-ingest").run(once=True)
    n_rows, n_events, n_positions = lake_counts(lake_settings)
    assert n_rows == n_events == n_positions == n_sent, log.read_text()[-3000:]
    assert report.n_loaded < n_sent, "the killed ingesters did real work"
    # Each source's commits form one chain of offsets from 0, without gaps or overlaps.
    for source in lake.committed_sources(lake_settings.lake_path):
        log_ = lake.SourceLog(lake_settings.lake_path, source)
        seqs = sorted(int(p.stem) for p in log_.folder.glob("*.json"))
        commits = [log_.read(seq) for seq in seqs]
        assert seqs == list(range(1, len(seqs) + 1))
        assert commits[0].first_offset == 0
        assert all(a.next_offset == b.first_offset for a, b in zip(commits, commits[1:], strict=False))


def test_an_error_out_of_the_loop_stops_the_group_ingester_instead_of_hanging(broker, lake_settings, monkeypatch):
    """A broker error while the open chunk holds messages: closing the consumer revokes its
    partitions, which must not wait for a writer that has already stopped. The error surfaces."""
    import threading

    from kafka.errors import KafkaConnectionError

    from journeys.pipelines import ingest as ingest_module

    with TouchpointProducer() as producer:
        producer.send_all(touchpoint(f"e{i}") for i in range(50))

    class FailsAfterData(ingest_module.KafkaConsumer):
        got_data = False

        def poll(self, *args, **kwargs):
            if FailsAfterData.got_data:
                raise KafkaConnectionError("broker went away")
            polled = super().poll(*args, **kwargs)
            FailsAfterData.got_data = FailsAfterData.got_data or any(polled.values())
            return polled

    monkeypatch.setattr(ingest_module, "KafkaConsumer", FailsAfterData)
    settings = lake_settings.replace(ingest_chunk_messages=100_000, ingest_batch_max_wait_s=120)
    outcome: dict = {}

    def run() -> None:
        try:
            Ingester(settings, decode_workers=0).run(once=False)
        except BaseException as exc:  # what the test is after
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(90)
    assert not thread.is_alive(), "the ingester hung instead of stopping"
    assert isinstance(outcome.get("error"), KafkaConnectionError)
    assert lake_counts(lake_settings)[0] == 0, "nothing of the uncommitted chunk was written"
