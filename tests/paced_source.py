"""A Bytewax test source that releases its messages on a schedule, then lingers before ending.

Bytewax's TestingSource ends the flow as soon as its list is exhausted, so timers
(a hold lapsing half a second later) would never get the chance to fire. This
one keeps the flow alive for ``linger_s`` after the last message.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from bytewax.inputs import DynamicSource, FixedPartitionedSource, StatefulSourcePartition, StatelessSourcePartition
from bytewax.testing import TestingSink, cluster_main, run_main

from atp.settings import Settings


class _Partition(StatelessSourcePartition[Any]):
    def __init__(self, schedule: list[tuple[float, Any]], linger_s: float) -> None:
        start = time.monotonic()
        self._due = [(start + delay, item) for delay, item in schedule]
        self._end = start + (max((d for d, _ in schedule), default=0.0)) + linger_s

    def next_batch(self) -> list[Any]:
        now = time.monotonic()
        if not self._due and now >= self._end:
            raise StopIteration
        ready = [item for due, item in self._due if due <= now]
        self._due = [(due, item) for due, item in self._due if due > now]
        return ready

    def next_awake(self) -> dt.datetime | None:
        return dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=20)


class PacedSource(DynamicSource[Any]):
    """``schedule``: (seconds after start, message); worker 0 emits everything."""

    def __init__(self, schedule: list[tuple[float, Any]], linger_s: float = 0.5) -> None:
        self._schedule = schedule
        self._linger_s = linger_s

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _Partition:
        return _Partition(self._schedule if worker_index == 0 else [], self._linger_s)


class _ResumablePartition(StatefulSourcePartition[Any, int]):
    def __init__(self, schedule: list[tuple[float, Any]], linger_s: float, emitted: int) -> None:
        self._emitted = emitted
        self._paced = _Partition(schedule[emitted:], linger_s)

    def next_batch(self) -> list[Any]:
        batch = self._paced.next_batch()
        self._emitted += len(batch)
        return batch

    def next_awake(self) -> dt.datetime | None:
        return self._paced.next_awake()

    def snapshot(self) -> int:
        return self._emitted


class ResumablePacedSource(FixedPartitionedSource[Any, int]):
    """A ``PacedSource`` whose position is recovered: a resumed flow goes on after the last message it took."""

    def __init__(self, schedule: list[tuple[float, Any]], linger_s: float = 0.5) -> None:
        self._schedule = schedule
        self._linger_s = linger_s

    def list_parts(self) -> list[str]:
        return ["only"]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _ResumablePartition:
        return _ResumablePartition(self._schedule, self._linger_s, resume_state or 0)


def run_paced(
    settings: Settings, schedule: list[Any], linger_s: float, epoch: dt.timedelta, workers: int = 1
) -> list[Any]:
    """What the whole availability flow publishes for ``schedule``, on one worker or ``workers`` in one process."""
    from flows.process import availability_flow

    out: list[Any] = []
    flow = availability_flow(settings, PacedSource(schedule, linger_s), TestingSink(out))
    if workers == 1:
        run_main(flow, epoch_interval=epoch)
    else:
        cluster_main(flow, [], 0, epoch_interval=epoch, worker_count_per_proc=workers)
    return out
