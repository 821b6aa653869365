"""The keyed-step adapter every stateful step of the dataflow shares: state that rests pickled between epochs."""

from __future__ import annotations

import datetime as dt
import functools
import pickle
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

import bytewax.operators as op

from atp.metrics import KEYS_IN_STATE, TIMERS_PENDING

Clock = Callable[[], int]


S = TypeVar("S")
V = TypeVar("V")
W = TypeVar("W")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def _as_datetime(epoch_ms: int | None) -> dt.datetime | None:
    return None if epoch_ms is None else dt.datetime.fromtimestamp(epoch_ms / 1000, tz=dt.UTC)


@functools.cache
def _keys_gauge(step: str) -> Any:
    return KEYS_IN_STATE.labels(step)


@functools.cache
def _timers_gauge(step: str) -> Any:
    return TIMERS_PENDING.labels(step)


# What a key is snapshotted as: its next deadline (so a resumed key arms its timer without being unpickled),
# its share of a step gauge (active holds), and its state pickled.
Snapshot = tuple[int | None, int, bytes]


class KeyedLogic(op.StatefulBatchLogic[tuple[str, V], W, Snapshot], Generic[S, V, W]):
    """A stateful step whose values carry their key (Bytewax hands the builder only the resumed state).

    Subclasses say how to create the state for a key, how an input changes it, and
    (optionally) what happens at its deadline. Each logic is one key of its step: it keeps
    the keys-in-state and timers-pending gauges.

    A key's state rests pickled between epochs. It is unpickled when an input or its deadline
    wakes the key, and pickled once at the epoch's snapshot, after which only the bytes are kept.
    Most keys are cold most of the time, so the process holds their pickles (a few hundred bytes)
    rather than their object graphs, and a resumed key is not unpickled until it is used
    (bench/results.md: memory per key and resume time). A hot key pays one unpickle per epoch.
    """

    __slots__ = ("clock", "_live", "_rested", "_deadline", "gauge_share", "_armed")
    STEP: ClassVar[str] = ""

    def __init__(self, resumed: Snapshot | None, clock: Clock) -> None:
        self.clock = clock
        self._live: S | None = None
        # Our own recovery store, written by this dataflow: trusted pickles (Bytewax's own format is pickle too).
        self._rested: bytes | None = None
        self._deadline: int | None = None
        self.gauge_share = 0
        if resumed is not None:
            self._deadline, self.gauge_share, self._rested = resumed
        self._armed = False
        _keys_gauge(self.step).inc()

    @property
    def step(self) -> str:
        return self.STEP

    @property
    def state(self) -> S | None:
        """The key's state, unpickled if it was resting; None for a key with none yet."""
        if self._live is None and self._rested is not None:
            self._live = pickle.loads(self._rested)
        return self._live

    def _changing(self, key: str) -> S:
        state = self.state
        if state is None:
            state = self._live = self.create(key)
        self._rested = None  # about to change: the bytes no longer say what the state is
        return state

    def _verdict(self, state: S) -> bool:
        self._deadline = self.deadline_ms(state)
        if self.keep(state):
            return op.StatefulBatchLogic.RETAIN
        _keys_gauge(self.step).dec()
        if self._armed:
            _timers_gauge(self.step).dec()
            self._armed = False
        return op.StatefulBatchLogic.DISCARD

    @classmethod
    def builder(cls, clock: Clock) -> Callable[[Snapshot | None], KeyedLogic[S, V, W]]:
        return lambda resumed: cls(resumed, clock)

    def create(self, key: str) -> S:
        raise NotImplementedError

    def apply(self, state: S, value: V, now_ms: int) -> list[W]:
        raise NotImplementedError

    def expire(self, state: S, now_ms: int) -> list[W]:
        return []

    def deadline_ms(self, state: S) -> int | None:
        return None

    def keep(self, state: S) -> bool:
        return True

    def on_batch(self, values: list[tuple[str, V]]) -> tuple[Iterable[W], bool]:
        state = self._changing(values[0][0])
        out: list[W] = []
        for _, item in values:
            out += self.apply(state, item, self.clock())
        return out, self._verdict(state)

    def on_notify(self) -> tuple[Iterable[W], bool]:
        state = self.state
        assert state is not None
        self._rested = None
        out = self.expire(state, self.clock())
        return out, self._verdict(state)

    def notify_at(self) -> dt.datetime | None:
        deadline = self._deadline
        if (deadline is not None) != self._armed:
            self._armed = deadline is not None
            _timers_gauge(self.step).inc(1 if self._armed else -1)
        return _as_datetime(deadline)

    def snapshot(self) -> Snapshot:
        # Pickled once, then the key rests: immutable bytes, so later changes cannot leak into the snapshot,
        # and one pickling pass instead of a deep copy that Bytewax would pickle again (the copy was 53% of
        # the flow's time in the benchmark's first profile, bench/results.md).
        if self._rested is None:
            assert self._live is not None
            # The epoch is closing (Bytewax snapshots every key it woke, at the close): versions opened in it
            # are published now (flows.epoch_gate), so the key's next change opens a new one.
            seal = getattr(self._live, "seal", None)
            if seal is not None:
                seal()
            self._rested = pickle.dumps(self._live, protocol=pickle.HIGHEST_PROTOCOL)
        self._live = None
        return self._deadline, self.gauge_share, self._rested
