"""The embedded broker's port: one it picked and found taken by the time it starts (two test workers,
two demos at once) is swapped for another, never shared; a port the caller named is used or refused."""

from __future__ import annotations

import socket

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from journeys.pipelines.broker import BrokerError, EmbeddedBroker


def listener() -> socket.socket:
    """Another process's server, as far as the broker can tell: a socket listening on a free port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_picked_port_taken_before_the_start_is_swapped_for_a_free_one(tmp_path):
    broker = EmbeddedBroker(log_path=tmp_path / "tansu.log")
    with listener() as other:
        broker.port = other.getsockname()[1]  # as if another process took the picked port meanwhile
        with broker:
            assert broker.port != other.getsockname()[1]
            admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers, request_timeout_ms=10_000)
            try:
                admin.create_topics([NewTopic("t", 1, 1)])
                assert "t" in admin.list_topics()  # a Kafka broker, ours, answers there
            finally:
                admin.close()


def test_a_named_port_that_is_taken_is_refused(tmp_path):
    with listener() as other:
        broker = EmbeddedBroker(port=other.getsockname()[1], log_path=tmp_path / "tansu.log")
        with pytest.raises(BrokerError, match="already in use by another process"):
            broker.start()
