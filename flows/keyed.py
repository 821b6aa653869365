"""The keyed-step adapter every stateful step of the dataflow shares: state that rests pickled between epochs."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

import bytewax.operators as op
import orjson

from atp.domain.events import Provenance
from atp.domain.records import DeadLetter
from atp.metrics import KEYS_IN_STATE, TIMERS_PENDING

Clock = Callable[[], int]


S = TypeVar("S")
V = TypeVar("V")
W = TypeVar("W")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# The latest deadline a timer can be armed for (9999-12-31T23:59:59.999Z); a later one is armed for then.
_LAST_MS = 253_402_300_799_999


def _as_datetime(epoch_ms: int | None) -> dt.datetime | None:
    if epoch_ms is None:
        return None
    # A deadline from a hostile input (a lot expiring in the year 10000, a hold that lapsed before 1970) fires when
    # a datetime can say (never, in practice) or at once, rather than fail to arm.
    return dt.datetime.fromtimestamp(min(max(epoch_ms, 0), _LAST_MS) / 1000, tz=dt.UTC)


@functools.cache
def _keys_gauge(step: str) -> Any:
    return KEYS_IN_STATE.labels(step)


@functools.cache
def _timers_gauge(step: str) -> Any:
    return TIMERS_PENDING.labels(step)


logger = logging.getLogger(__name__)

# The reason of a dead letter for an input whose step raised while applying it (the key keeps its state as before).
ENGINE_ERROR = "engine_error"
ERROR_CHARS = 400  # the longest error text an engine_error letter carries

# A timer firing, as the log of what a key applied since it rested records it.
_TIMER = object()


# What a key is snapshotted as: its next deadline (so a resumed key arms its timer without being unpickled),
# its share of a step gauge (active holds), and its state pickled.
Snapshot = tuple[int | None, int, bytes]


class KeyedLogic(op.StatefulBatchLogic[tuple[str, V], W | DeadLetter, Snapshot], Generic[S, V, W]):
    """A stateful step whose values carry their key (Bytewax hands the builder only the resumed state).

    Subclasses say how to create the state for a key, how an input changes it, and
    (optionally) what happens at its deadline. Each logic is one key of its step: it keeps
    the keys-in-state and timers-pending gauges.

    A key's state rests pickled between epochs. It is unpickled when an input or its deadline
    wakes the key, and pickled once at the epoch's snapshot. Most keys are cold most of the time,
    so the process holds their pickles (a few hundred bytes) rather than their object graphs, and a
    resumed key is not unpickled until it is used (bench/results.md: memory per key and resume
    time). The keys snapshotted most recently (``AWAKE_KEYS`` per worker) also keep their object,
    so a hot key is not unpickled again at each epoch.

    A guard around each input: if applying one input (or a timer) to a key raises, that input is
    dead-lettered (``engine_error``, naming the step, the exception and the input's origin) and the
    key goes on from its state as it was before that input; the flow neither stops nor, resumed,
    meets the input again (its offset is committed with the epoch). The key's pickle of its last
    snapshot is kept while it is awake, with the inputs it applied since (references, and the time
    each was applied at): on a failure the state is unpickled from those bytes and those inputs are
    applied again (their outputs went out already), which the steps' rules make deterministic. On the
    happy path this costs a list append per input and keeping the bytes until the snapshot: no copy.
    """

    __slots__ = ("clock", "_live", "_rested", "_applied", "_key", "_deadline", "gauge_share", "_armed")
    STEP: ClassVar[str] = ""

    def __init__(self, resumed: Snapshot | None, clock: Clock) -> None:
        self.clock = clock
        self._live: S | None = None
        # Our own recovery store, written by this dataflow: trusted pickles (Bytewax's own format is pickle too).
        # The state as at its last snapshot: what it rests as, and what a failed input restores it from.
        self._rested: bytes | None = None
        # What the key applied since it rested (inputs, and _TIMER for its deadline, with their times);
        # None while the state is still what the bytes say.
        self._applied: list[tuple[Any, int]] | None = None
        self._key = ""
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
        self._key = key
        state = self.state
        if state is None:
            state = self._live = self.create(key)
        if self._applied is None:  # about to change: the bytes no longer say what the state is
            self._applied = []
        return state

    def _verdict(self, state: S) -> bool:
        """Whether Bytewax keeps the key, and its next deadline (raises if the step's rules do)."""
        self._deadline = self.deadline_ms(state)
        if self.keep(state):
            return op.StatefulBatchLogic.RETAIN
        _keys_gauge(self.step).dec()
        if self._armed:
            _timers_gauge(self.step).dec()
            self._armed = False
        return op.StatefulBatchLogic.DISCARD

    def _verdict_without_deadline(self, state: S) -> bool:
        """A key whose state was already one its rules cannot read: kept, without a timer until its next input."""
        try:
            return self._verdict(state)
        except Exception:
            logger.exception("%s: the deadline of key %r cannot be computed", self.step, self._key)
            self._deadline = None
            return op.StatefulBatchLogic.RETAIN

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

    def leaves_unchanged(self, state: S, value: V) -> bool:
        """Whether applying ``value`` only reads ``state`` (asked before applying it). A key whose inputs of an
        epoch all only read it snapshots the bytes it rested as instead of pickling its state again: a location's
        book holds the names of its tens of thousands of SKUs, and most records only pass through it."""
        return False

    def origin(self, value: Any) -> Provenance | None:
        """Where an input came from, for its dead letter: its events' provenance, when it has one."""
        provenance = getattr(value, "provenance", None)
        if isinstance(provenance, Provenance):
            return provenance
        events = getattr(value, "events", None)  # a source transaction's change message
        if isinstance(events, tuple) and events:
            provenance = getattr(events[0], "provenance", None)
            if isinstance(provenance, Provenance):
                return provenance
        return None

    def on_batch(self, values: list[tuple[str, V]]) -> tuple[Iterable[W | DeadLetter], bool]:
        key = values[0][0]
        clock = self.clock
        as_rested = self._applied is None and self._rested is not None  # the state is what its bytes say
        try:
            state = self._changing(key)
        except Exception as error:  # no state to apply them to (its creation or its bytes failed)
            now = clock()
            letters = [self._engine_error(item, error, now) for _, item in values]
            return letters, self._abandon()
        applied = self._applied
        assert applied is not None
        start = len(applied)
        out: list[W | DeadLetter] = []
        for _, item in values:
            now = clock()
            try:
                unchanged = as_rested and self.leaves_unchanged(state, item)
                out += self.apply(state, item, now)
            except Exception as error:
                out.append(self._engine_error(item, error, now))
                state = self._recover()
                as_rested = False
                continue
            applied.append((item, now))
            as_rested = as_rested and unchanged
        try:
            verdict = self._verdict(state)
        except Exception:  # one of the batch's inputs left a state whose deadline the rules cannot compute
            return self._without_culprits(start, [o for o in out if isinstance(o, DeadLetter)])
        if as_rested:
            self._applied = None  # still what its bytes say: its snapshot hands them out again, unpickled
        return out, verdict

    def _without_culprits(self, start: int, letters: list[W | DeadLetter]) -> tuple[list[W | DeadLetter], bool]:
        """The batch again from the state before it, each input followed by the deadline: an input after which
        the deadline raises is dead-lettered like one that raised itself. (Only on that failure: it costs the
        batch twice, and a deadline per input.)"""
        applied = self._applied
        assert applied is not None
        batch = applied[start:]
        del applied[start:]
        state = self._recover()
        try:
            self.deadline_ms(state)
            blame = True
        except Exception:  # the state was unreadable before this batch already: no input of it is to blame
            blame = False
        out = letters
        for item, now in batch:
            try:
                produced = self.apply(state, item, now)
                if blame:
                    self.deadline_ms(state)
            except Exception as error:
                out.append(self._engine_error(item, error, now))
                state = self._recover()
                continue
            out += produced
            applied.append((item, now))
        return out, self._verdict_without_deadline(state)

    def on_notify(self) -> tuple[Iterable[W | DeadLetter], bool]:
        state = self.state
        assert state is not None
        if self._applied is None:
            self._applied = []
        now = self.clock()
        try:
            out: list[W | DeadLetter] = [*self.expire(state, now)]
            verdict = self._verdict(state)
        except Exception as error:
            letter = self._engine_error(_TIMER, error, now)
            state = self._recover()
            verdict = self._verdict_without_deadline(state)
            self._deadline = None  # the deadline would fire again at once: it waits for the key's next input
            return [letter], verdict
        self._applied.append((_TIMER, now))
        return out, verdict

    def _recover(self) -> S:
        """The state as before the input that failed: its snapshot's bytes, and what it applied since, again."""
        applied = self._applied
        assert applied is not None
        while True:
            state: S = pickle.loads(self._rested) if self._rested is not None else self.create(self._key)
            for index, (item, now) in enumerate(applied):
                try:
                    if item is _TIMER:
                        self.expire(state, now)
                    else:
                        self.apply(state, item, now)
                except Exception:  # failed now, not then: not deterministic; go on without it
                    logger.exception("%s: key %r failed to apply again an input it had applied", self.step, self._key)
                    del applied[index]
                    break
            else:
                self._live = state
                return state

    def _abandon(self) -> bool:
        """A key whose state cannot be had: discarded, its inputs dead-lettered."""
        self._live = None
        self._applied = None
        if self._rested is not None:  # keep what it rested as: a later input may fare better
            return op.StatefulBatchLogic.RETAIN
        _keys_gauge(self.step).dec()
        return op.StatefulBatchLogic.DISCARD

    def _engine_error(self, item: Any, error: Exception, now_ms: int) -> DeadLetter:
        timer = item is _TIMER
        origin = None if timer else self.origin(item)
        try:
            told = f"{type(error).__name__}: {error}"
        except Exception:  # an exception that cannot say what it is
            told = type(error).__name__
        text = f"{self.step}: {'timer' if timer else type(item).__name__} of key {self._key!r}: {told}"
        if len(text) > ERROR_CHARS:
            text = text[: ERROR_CHARS - 3] + "..."
        logger.warning("%s", text, exc_info=error)
        payload = {
            "step": self.step,
            "key": self._key[:200],
            "input": "timer" if timer else type(item).__name__,
            "cause_ref": None if origin is None else origin.cause_ref[:200],
        }
        topic, partition, offset = ("", -1, -1) if origin is None else (origin.topic, origin.partition, origin.offset)
        return DeadLetter(topic, partition, offset, ENGINE_ERROR, text, orjson.dumps(payload).decode(), now_ms)

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
        if self._applied is not None:
            assert self._live is not None
            # The epoch is closing (Bytewax snapshots every key it woke, at the close): versions opened in it
            # are published now (flows.epoch_gate), so the key's next change opens a new one.
            seal = getattr(self._live, "seal", None)
            if seal is not None:
                seal()
            self._rested = pickle.dumps(self._live, protocol=pickle.HIGHEST_PROTOCOL)
            self._applied = None
        _stay_awake(self)
        assert self._rested is not None
        return self._deadline, self.gauge_share, self._rested


# Keys whose state stays unpickled after their epoch's snapshot, per worker thread (a key belongs to one worker),
# the most recently snapshotted last. A key woken again within the next epochs (a hot SKU, its channel sums and
# listings) skips its unpickle, which was a fifth of the flow's time with every key resting pickled
# (bench/results.md, the stage breakdown). Beyond AWAKE_KEYS, the least recently snapshotted rests as its pickle
# only, so memory stays bounded whatever the number of keys: the cold ones cost their bytes, as before.
AWAKE_KEYS = 20_000
_awake = threading.local()


def _stay_awake(logic: KeyedLogic[Any, Any, Any]) -> None:
    awake: OrderedDict[KeyedLogic[Any, Any, Any], None] | None = getattr(_awake, "keys", None)
    if awake is None:
        awake = _awake.keys = OrderedDict()
    awake[logic] = None
    awake.move_to_end(logic)
    while len(awake) > AWAKE_KEYS:
        oldest, _ = awake.popitem(last=False)
        # Changed since its snapshot (woken again in this epoch, before its own snapshot): its bytes do not say what
        # it is yet; its snapshot, at this epoch's close, puts it back at the end.
        if oldest._applied is None:
            oldest._live = None
