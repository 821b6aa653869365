"""Consumer lag of the dataflow and of the store loader.

Bytewax does not use consumer groups: it keeps its input offsets in its
recovery store (SQLite partitions under ``ATP_HOME/recovery``), saved at each
snapshot. So the dataflow's lag is read from there (it is at most one snapshot
interval stale); the loader's lag comes from its consumer group's commits.
"""

from __future__ import annotations

import logging
import pickle
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from atp.metrics import CONSUMER_LAG
from atp.settings import KafkaSettings
from connectors.kafka_config import client_config
from connectors.kafka_source import PART_PREFIX

log = logging.getLogger("atp.lag")

FLOW_INPUT_STEP = "atp_availability.cdc_in"  # connectors.kafka_source: one state per partition number

Positions = dict[tuple[str, int], int]


@dataclass(frozen=True)
class TopicLag:
    consumer: str
    topic: str
    lag: int
    partitions: int


def flow_positions(recovery_dir: Path, step_id: str = FLOW_INPUT_STEP) -> Positions:
    """The next offset the dataflow will read, per (topic, partition), as of its last snapshot."""
    positions: Positions = {}
    for part in sorted(recovery_dir.glob("*.sqlite3")):
        with sqlite3.connect(f"file:{part}?mode=ro", uri=True) as db:
            rows = db.execute(
                "SELECT state_key, ser_change FROM snaps s WHERE step_id = ? AND snap_epoch = "
                "(SELECT MAX(snap_epoch) FROM snaps WHERE step_id = s.step_id AND state_key = s.state_key)",
                (step_id,),
            ).fetchall()
        for state_key, blob in rows:
            index = int(str(state_key).removeprefix(PART_PREFIX))
            # Our own recovery store, written by our own dataflow: trusted pickles of {topic: next offset}.
            offsets = pickle.loads(blob) if blob is not None else None
            if isinstance(offsets, dict):
                for topic, offset in offsets.items():
                    positions[(str(topic), index)] = int(offset)
    return positions


def _consumer(kafka: KafkaSettings, group: str) -> Consumer:
    return Consumer(client_config(kafka) | {"group.id": group, "enable.auto.commit": False})


def group_positions(kafka: KafkaSettings, group: str, topics: tuple[str, ...]) -> Positions:
    consumer = _consumer(kafka, group)
    try:
        partitions = [
            TopicPartition(topic, index)
            for topic in topics
            for index in consumer.list_topics(topic, timeout=5).topics[topic].partitions
        ]
        committed = consumer.committed(partitions, timeout=10)
        return {(tp.topic, tp.partition): tp.offset for tp in committed if tp.offset >= 0}
    finally:
        consumer.close()


def lag_by_topic(
    kafka: KafkaSettings, consumer_name: str, topics: tuple[str, ...], positions: Positions
) -> list[TopicLag]:
    """Messages not yet consumed, per topic: end offset less the consumer's position (or its start)."""
    consumer = _consumer(kafka, "atp-lag-probe")
    try:
        lags = []
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=5).topics[topic]
            total = 0
            for index in metadata.partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, index), timeout=5)
                total += max(0, high - positions.get((topic, index), low))
            lags.append(TopicLag(consumer_name, topic, total, len(metadata.partitions)))
        return lags
    finally:
        consumer.close()


class LagReporter(threading.Thread):
    """Keeps the ``atp_consumer_lag`` gauge of one consumer up to date, per topic and partition.

    ``positions`` says where the consumer is (the next offset it will read); a partition it
    has no position for counts from the partition's first offset, so a consumer that has
    not started yet shows its whole backlog rather than none (``only_known``: such a
    partition is not reported, for a process of a cluster that does not read it).
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        consumer_name: str,
        topics: tuple[str, ...],
        positions: Callable[[], Positions],
        every_s: float = 5.0,
        only_known: bool = False,
    ) -> None:
        super().__init__(name=f"lag-{consumer_name}", daemon=True)
        self.kafka, self.consumer_name, self.topics = kafka, consumer_name, topics
        self.positions, self.every_s, self.only_known = positions, every_s, only_known
        self.stop = threading.Event()

    def run(self) -> None:
        probe = _consumer(self.kafka, "atp-lag-probe")
        try:
            while not self.stop.is_set():
                try:
                    self.report(probe)
                except Exception as exc:  # noqa: BLE001 - a broker away for a moment must not end the reporting
                    log.warning("lag of %s not measured: %s", self.consumer_name, exc)
                self.stop.wait(self.every_s)
        finally:
            probe.close()

    def report(self, probe: Consumer) -> None:
        known = self.positions()
        for topic in self.topics:
            for index in probe.list_topics(topic, timeout=5).topics[topic].partitions:
                if self.only_known and (topic, index) not in known:
                    continue
                low, high = probe.get_watermark_offsets(TopicPartition(topic, index), timeout=5)
                lag = max(0, high - max(low, known.get((topic, index), low)))
                CONSUMER_LAG.labels(self.consumer_name, topic, str(index)).set(lag)
