"""Consumer lag: how far the ingester's committed Kafka offsets trail the topics' end offsets."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from journeys.pipelines.kafka_config import client_config
from journeys.schemas.contract import TOPIC_PREFIX


def consumer_lag(group_id: str) -> dict[tuple[str, int], int]:
    """Messages not yet ingested, per topic partition. Partitions the group never committed count from 0.

    With tansu the figure can be low by up to one producer batch per partition (see below); on
    Apache Kafka, Redpanda or MSK it is exact."""
    admin = KafkaAdminClient(**client_config())
    consumer = KafkaConsumer(**client_config())
    try:
        topics = sorted(t for t in consumer.topics() if t.startswith(TOPIC_PREFIX))
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        committed = admin.list_group_offsets(group_id).get(group_id, {})
        # Clamped at 0: tansu reports the last batch's base offset + 1 as the end offset, which can
        # trail the committed position by up to one batch.
        return {(tp.topic, tp.partition): max(0, ends[tp] - (committed[tp].offset if tp in committed else 0))
                for tp in partitions}
    finally:
        consumer.close()
        admin.close()
