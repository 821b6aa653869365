"""The dataflow's Kafka input: every input topic, read by one consumer per partition *number*.

Delivery: exactly-once into the dataflow's state. Each source partition keeps the next
offset of each topic it reads; Bytewax snapshots those offsets together with the
stateful steps at every epoch, and a resumed flow reads on from exactly there.

Why not Bytewax's ``KafkaSource``: it makes one consumer per topic partition (52 for our
13 input topics of 4 partitions) and polls each in turn with a 1 ms wait, so an idle
round costs over 50 ms before a change on a quiet topic is seen, and the CPU goes to
polling empty partitions. Here source partition ``p<i>`` is one consumer assigned
partition *i* of every input topic: 4 polls a round, and a change on any topic of that
partition number comes back from the same poll. Parallelism is unchanged: Bytewax spreads
the ``p<i>`` over the workers of a cluster as it did the topic partitions.
"""

from __future__ import annotations

from typing import Any

from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient

RawMessage = KafkaSourceMessage[bytes | None, bytes | None]
RawError = KafkaError[bytes | None, bytes | None]
Offsets = dict[str, int]  # topic -> the next offset to read, for one partition number

PART_PREFIX = "p"


def part_name(index: int) -> str:
    return f"{PART_PREFIX}{index}"


class _PartitionNumber(StatefulSourcePartition[RawMessage | RawError, Offsets]):
    def __init__(
        self, config: dict[str, Any], topics: list[str], index: int, resumed: Offsets | None, batch_size: int
    ) -> None:
        self._offsets: Offsets = dict(resumed or {})
        self._consumer = Consumer(config)
        self._consumer.assign(
            [TopicPartition(topic, index, self._offsets.get(topic, OFFSET_BEGINNING)) for topic in topics]
        )
        self._batch_size = batch_size

    def next_batch(self) -> list[RawMessage | RawError]:
        batch: list[RawMessage | RawError] = []
        for msg in self._consumer.consume(self._batch_size, 0.001):
            message: RawMessage = KafkaSourceMessage(
                key=msg.key(),
                value=msg.value(),
                topic=msg.topic(),
                headers=[],  # not read downstream
                latency=msg.latency(),
                offset=msg.offset(),
                partition=msg.partition(),
                timestamp=msg.timestamp(),
            )
            error = msg.error()
            if error is not None:
                batch.append(KafkaError(error, message))  # routed to the dead-letter topic by the flow
                continue
            batch.append(message)
            self._offsets[msg.topic() or ""] = (msg.offset() or 0) + 1
        return batch

    def snapshot(self) -> Offsets:
        return dict(self._offsets)

    def close(self) -> None:
        self._consumer.close()


class AtpKafkaSource(FixedPartitionedSource[RawMessage | RawError, Offsets]):
    """Input topics read by partition number (``p0``, ``p1``, ...), one consumer each, from the first offset."""

    def __init__(self, config: dict[str, Any], topics: list[str], batch_size: int = 1000) -> None:
        self._config = config
        self._topics = topics
        self._batch_size = batch_size

    def _partition_counts(self) -> dict[str, int]:
        metadata = AdminClient(self._config).list_topics(timeout=10)
        missing = [topic for topic in self._topics if topic not in metadata.topics]
        if missing:  # topics are created up front (connectors.topics): a missing one is a set-up error
            raise RuntimeError(f"input topics missing: {', '.join(missing)}")
        return {topic: len(metadata.topics[topic].partitions) for topic in self._topics}

    def list_parts(self) -> list[str]:
        return [part_name(index) for index in range(max(self._partition_counts().values()))]

    def build_part(self, step_id: str, for_part: str, resume_state: Offsets | None) -> _PartitionNumber:
        index = int(for_part.removeprefix(PART_PREFIX))
        having = [topic for topic, count in self._partition_counts().items() if index < count]
        config = self._config | {
            # No consumer group: the offsets live in the dataflow's recovery store.
            "group.id": "atp-dataflow-ignored",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
        return _PartitionNumber(config, having, index, resume_state, self._batch_size)
