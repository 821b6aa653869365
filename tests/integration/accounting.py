"""Counting the dataflow's inputs two ways: from Kafka's offsets, and from the dataflow's own input ledger."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, TopicPartition

from atp.settings import Settings
from atp.status import cluster_samples, flow_metrics_ports
from connectors.kafka_config import client_config
from connectors.topics import INPUT_TOPICS


def inputs_in_kafka(settings: Settings) -> dict[str, int]:
    """Messages on each input topic: its partitions' end offsets less their first (nothing is compacted)."""
    consumer = Consumer(client_config(settings.kafka) | {"group.id": "atp-test-accounting"})
    try:
        counts = {}
        for topic in INPUT_TOPICS:
            partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            marks = [consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in partitions]
            counts[topic] = sum(high - low for low, high in marks)
        return counts
    finally:
        consumer.close()


def inputs_accounted(settings: Settings) -> dict[str, tuple[int, int]]:
    """(used, dead-lettered) per input topic, as the dataflow's metrics endpoints report its ledger (added up
    over every process of a cluster: each reports the partitions it reads)."""
    ports = flow_metrics_ports(settings)
    samples = cluster_samples(ports)
    assert samples is not None, f"the dataflow's metrics endpoints on 127.0.0.1:{ports} are down"
    totals: dict[str, list[int]] = {}
    for name, labels, value in samples:
        if name == "atp_inputs_accounted":
            pair = totals.setdefault(labels["topic"], [0, 0])
            pair[0 if labels["outcome"] == "used" else 1] += int(value)
    return {topic: (used, dead) for topic, (used, dead) in totals.items()}


def wait_until_every_input_is_accounted(settings: Settings, timeout_s: float = 90) -> dict[str, tuple[int, int, int]]:
    """Per input topic: (inputs, used, dead-lettered), once inputs = used + dead-lettered for every topic."""
    deadline = time.monotonic() + timeout_s
    while True:
        in_kafka, accounted = inputs_in_kafka(settings), inputs_accounted(settings)
        table = {topic: (n, *accounted.get(topic, (0, 0))) for topic, n in in_kafka.items()}
        if all(n == used + dead for n, used, dead in table.values()):
            return table
        if time.monotonic() > deadline:
            short = {t: row for t, row in table.items() if row[0] != row[1] + row[2]}
            raise AssertionError(f"inputs != used + dead-lettered (inputs, used, dead-lettered): {short}")
        time.sleep(1)
