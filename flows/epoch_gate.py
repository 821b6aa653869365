"""The dataflow's publisher: outputs held to the end of their epoch, then written by the real sink.

Bytewax closes an epoch on every partition of a ``FixedPartitionedSink`` only once
every step upstream has finished it, and calls the partition's ``snapshot`` then,
before any write of a later epoch, and before the epoch's snapshots are committed to
the recovery store. So, for each partition, the order at each epoch is:

1. ``write_batch`` collects the epoch's outputs (:class:`atp.domain.epoch_batch.EpochBatch`
   keeps each key's last record);
2. ``snapshot`` hands them to the wrapped sink, which writes and flushes them (the Kafka
   sink raises if the broker did not acknowledge one, and the flow stops);
3. Bytewax commits the epoch's state and input offsets.

A crash before 3 resumes from the previous epoch and publishes the epoch again:
at-least-once, with the same versions. Partitions are by key, so all the outputs of
a key meet in one partition.
"""

from __future__ import annotations

from bytewax.outputs import DynamicSink, FixedPartitionedSink, StatefulSinkPartition, StatelessSinkPartition

from atp.domain.epoch_batch import EpochBatch, EpochOutput, Published

# Partitions of the publisher: enough to spread it over the workers of a small cluster.
PARTS = 4


class _GatePartition(StatefulSinkPartition[EpochOutput, None]):
    def __init__(self, sink: StatelessSinkPartition[Published]) -> None:
        self._sink = sink
        self._batch = EpochBatch()

    def write_batch(self, values: list[EpochOutput]) -> None:
        add = self._batch.add
        for value in values:
            add(value)

    def snapshot(self) -> None:
        # The epoch is closed: publish it before Bytewax commits it.
        published = self._batch.close()
        if published:
            self._sink.write_batch(published)

    def close(self) -> None:
        self._sink.close()


class EpochGate(FixedPartitionedSink[EpochOutput, None]):
    """Wraps a sink so that it receives, at each epoch's close, the last record of each key of that epoch."""

    def __init__(self, sink: DynamicSink[Published], parts: int = PARTS) -> None:
        self._sink = sink
        self._parts = parts

    def list_parts(self) -> list[str]:
        return [f"out{index}" for index in range(self._parts)]

    def build_part(self, step_id: str, for_part: str, resume_state: None) -> _GatePartition:
        index = int(for_part.removeprefix("out"))
        return _GatePartition(self._sink.build(step_id, index, self._parts))
