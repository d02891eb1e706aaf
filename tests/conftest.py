"""Shared fixtures: a real embedded broker per test, a warehouse folder per test."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from journeys.pipelines.broker import EmbeddedBroker
from journeys.settings import load_settings


@pytest.fixture
def broker(monkeypatch, tmp_path):
    """A fresh tansu broker (memory storage) with the touchpoint topics; KAFKA_BOOTSTRAP_SERVERS points at it."""
    from journeys.pipelines.topics import ensure_topics

    with EmbeddedBroker(log_path=tmp_path / "tansu.log") as running:
        monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", running.bootstrap_servers)
        ensure_topics(partitions=3)
        yield running


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.delenv("JOURNEYS_AS_OF", raising=False)
    monkeypatch.delenv("JOURNEYS_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    return load_settings(home=tmp_path / "home", ingest_decode_workers=1)


def touchpoint(event_id: str, channel: str = "web", event_type: str = "page_view", minutes: int = 0, **fields) -> dict:
    """A valid contract record; `fields` override or add anything."""
    at = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes)
    record = {"event_id": event_id, "occurred_at": at, "received_at": at + dt.timedelta(seconds=1),
              "channel": channel, "event_type": event_type, "customer_id": "c1", "properties": {}}
    record.update(fields)
    return record


@pytest.fixture
def env_clean(monkeypatch):
    for var in list(os.environ):
        if var.startswith("JOURNEYS_"):
            monkeypatch.delenv(var)


@pytest.fixture(scope="session")
def bi_sample(tmp_path_factory):
    """A small published warehouse (80 customers, 40 days) for the BI-tool recipes to connect to,
    built once per test session: every recipe reads it, none writes to it."""
    from tests.sample_warehouse import build_sample_warehouse

    return build_sample_warehouse(tmp_path_factory.mktemp("bi-sample") / "home", customers=80, days=40)


@pytest.fixture(scope="session")
def old_reader(tmp_path_factory):
    """The Python of a venv with the older DuckDB that BI tools embed (tests/old_duckdb.py)."""
    from tests.old_duckdb import old_duckdb_python

    return old_duckdb_python(tmp_path_factory.mktemp("old-duckdb"))
