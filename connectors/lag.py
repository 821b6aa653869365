"""Consumer lag of the dataflow and of the store loader.

Bytewax does not use consumer groups: it keeps its input offsets in its
recovery store (SQLite partitions under ``ATP_HOME/recovery``), saved at each
snapshot. So the dataflow's lag is read from there (it is at most one snapshot
interval stale); the loader's lag comes from its consumer group's commits.
"""

from __future__ import annotations

import pickle
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from atp.settings import Settings
from connectors.kafka_config import client_config

FLOW_INPUT_STEP = "atp_availability.cdc_in.kafka_input"  # kop.input wraps the source in a sub-step

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
            index, _, topic = str(state_key).partition("-")
            # Our own recovery store, written by our own dataflow: trusted pickles of ints.
            offset = pickle.loads(blob) if blob is not None else None
            if isinstance(offset, int) and offset >= 0:
                positions[(topic, int(index))] = offset
    return positions


def _consumer(settings: Settings, group: str) -> Consumer:
    return Consumer(client_config(settings) | {"group.id": group, "enable.auto.commit": False})


def group_positions(settings: Settings, group: str, topics: tuple[str, ...]) -> Positions:
    consumer = _consumer(settings, group)
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
    settings: Settings, consumer_name: str, topics: tuple[str, ...], positions: Positions
) -> list[TopicLag]:
    """Messages not yet consumed, per topic: end offset less the consumer's position (or its start)."""
    consumer = _consumer(settings, "atp-lag-probe")
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
