"""Topic layout: one topic per channel, created with several partitions if missing."""

from __future__ import annotations

from kafka.admin import KafkaAdminClient, NewTopic

from journeys.pipelines.kafka_config import client_config
from journeys.schemas.contract import CHANNELS, DEAD_LETTER_TOPIC, DEFAULT_PARTITIONS, topic_for


def touchpoint_topics() -> list[str]:
    return [topic_for(channel) for channel in CHANNELS] + [DEAD_LETTER_TOPIC]


def ensure_topics(partitions: int = DEFAULT_PARTITIONS, replication_factor: int = 1) -> list[str]:
    """Create every touchpoint topic that does not exist yet; returns the ones created."""
    admin = KafkaAdminClient(**client_config())
    try:
        existing = set(admin.list_topics())
        missing = [t for t in touchpoint_topics() if t not in existing]
        if missing:
            admin.create_topics([NewTopic(t, partitions, replication_factor) for t in missing], raise_errors=False)
        return missing
    finally:
        admin.close()
