"""Consumer lag: how far the ingester's committed Kafka offsets trail the topics' end offsets."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from journeys.pipelines.kafka_config import client_config
from journeys.schemas.contract import TOPIC_PREFIX


def consumer_lag(group_id: str) -> dict[tuple[str, int], int]:
    """Messages not yet ingested, per topic partition. Partitions the group never committed count from 0."""
    admin = KafkaAdminClient(**client_config())
    consumer = KafkaConsumer(**client_config())
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(TOPIC_PREFIX))
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        committed = admin.list_group_offsets(group_id)
        return {(tp.topic, tp.partition): ends[tp] - (committed[tp].offset if tp in committed else 0) for tp in partitions}
    finally:
        consumer.close()
        admin.close()
