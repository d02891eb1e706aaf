"""Ingest throughput against its floors, on the same pre-produced messages, in one run.

    python benchmarks/bench_ingest.py [--messages 200000] [--repeat 3]

Prints three rates over the same messages: (1) the broker's raw consume rate with
kafka-python, (2) a bare loop that consumes and fastavro-decodes and does nothing else — the
floor of any Python Kafka-to-Avro consumer — and (3) `journeys ingest --once` end to end into
a fresh DuckDB file, with (3)/(2) as the headline ratio. Target: >= 0.80.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_events import sample_records  # noqa: E402


def consume_all(n_expected: int, decode=None) -> float:
    from kafka import KafkaConsumer, TopicPartition

    from journeys.pipelines.kafka_config import client_config
    from journeys.schemas.contract import TOPIC_PREFIX

    consumer = KafkaConsumer(**client_config(), enable_auto_commit=False, max_poll_records=10_000,
                             max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_wait_ms=100)
    topics = [t for t in consumer.topics() if t.startswith(TOPIC_PREFIX)]
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t)]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    started = time.perf_counter()
    n = 0
    while n < n_expected:
        for messages in consumer.poll(timeout_ms=200).values():
            if decode is not None:
                for message in messages:
                    decode(message.value)
            n += len(messages)
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from fastavro import parse_schema, schemaless_reader

    from journeys.pipelines.broker import EmbeddedBroker
    from journeys.pipelines.ingest import Ingester
    from journeys.pipelines.producer import TouchpointProducer
    from journeys.pipelines.topics import ensure_topics
    from journeys.schemas.registry import HEADER_LEN, load_schema
    from journeys.settings import load_settings

    parsed = parse_schema(load_schema())

    def bare_decode(value: bytes) -> dict:
        buffer = io.BytesIO(value)
        buffer.seek(HEADER_LEN)
        return schemaless_reader(buffer, parsed)

    with EmbeddedBroker() as broker:
        os.environ["KAFKA_BOOTSTRAP_SERVERS"] = broker.bootstrap_servers
        ensure_topics()
        t0 = time.perf_counter()
        with TouchpointProducer() as producer:
            producer.send_all(sample_records(args.messages, seed=1))
        print(f"produced {args.messages:,} messages in {time.perf_counter() - t0:.1f} s")

        rows = {"raw consume": [], "consume + fastavro decode (floor)": [], "journeys ingest --once": []}
        for attempt in range(args.repeat):
            rows["raw consume"].append(consume_all(args.messages))
            rows["consume + fastavro decode (floor)"].append(consume_all(args.messages, bare_decode))
            with tempfile.TemporaryDirectory() as home:
                settings = load_settings(home=Path(home))
                started = time.perf_counter()
                report = Ingester(settings, group_id=f"bench-{attempt}").run(once=True)
                rows["journeys ingest --once"].append(time.perf_counter() - started)
                assert report.n_loaded == args.messages, report.line()

    floor = statistics.median(rows["consume + fastavro decode (floor)"])
    print(f"\n{'stage':36} {'median s':>9} {'msg/s':>10} {'vs floor':>9}   (runs: s)")
    for name, times in rows.items():
        median = statistics.median(times)
        print(f"{name:36} {median:9.2f} {args.messages / median:10,.0f} {floor / median:9.2f}   "
              + ", ".join(f"{t:.2f}" for t in times))
    print(f"\ningest / floor = {floor / statistics.median(rows['journeys ingest --once']):.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
