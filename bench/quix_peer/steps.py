"""The peer's steps: our decoders and our domain state classes, wrapped as Quix Streams callbacks.

Nothing here re-implements a rule: decoding is ``connectors.cdc.decode.decode_change`` and
``connectors.reservations.decode_reservation``; the keyed steps keep exactly the state objects
our Bytewax steps keep (``UpcState``, ``Reference``, ``SkuState``) and call the same methods.
What differs is the engine around them: Quix re-keys through Kafka (``group_by``) and keeps each
key's state in RocksDB (pickled, through ``RocksDBOptions(dumps, loads)``), where Bytewax keeps it
in memory and snapshots it.

Keys of the keyed steps, as in ``flows/availability.py``: ``resolve_upc`` by UPC,
``check_location`` by location, ``resolve_listing`` by ``channel/channel_sku``, ``availability``
by SKU. A step whose state becomes empty deletes it, as the Bytewax step DISCARDs it.
"""

from __future__ import annotations

import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from quixstreams import State, message_context

from atp.domain.engine_rules import EngineRules
from atp.domain.events import Event, KitComponentChanged, ReservationReceived
from atp.domain.records import DeadLetter
from atp.domain.references import UNKNOWN_CHANNEL_SKU, UNKNOWN_LOCATION, Reference
from atp.domain.sku_state import Output, SkuState
from atp.domain.upc_resolution import UpcState
from connectors.inputs import decode_input
from flows import routing

STATE_KEY = "state"


def cpu_seconds() -> float:
    """User + system CPU of this process so far, every thread (librdkafka's included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Progress:
    """Messages each step has taken, by the topic they came from; first input and last engine call times.

    The watcher in :mod:`bench.quix_peer.app` compares these counts with the topics' offsets to
    know when the peer has consumed every input and drained every repartition topic.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.taken: Counter[str] = Counter()
        self.first_input_s: float | None = None
        self.cpu_at_first_input_s: float | None = None  # this process's user + system CPU seconds then
        self.last_engine_s: float | None = None
        self.skipped: Counter[str] = Counter()  # decoded events of kinds the peer does not cover

    def took(self, topic: str) -> None:
        with self.lock:
            self.taken[topic] += 1


PROGRESS = Progress()


# -- decoding ----------------------------------------------------------------------------------


def decode(value: bytes | None) -> list[Event | DeadLetter]:
    """One raw input message: its events, then its dead letter if it has one (what Bytewax splits in two)."""
    context = message_context()
    topic, partition, offset = context.topic, context.partition, context.offset
    if PROGRESS.first_input_s is None:
        PROGRESS.first_input_s = time.perf_counter()
        PROGRESS.cpu_at_first_input_s = cpu_seconds()
    PROGRESS.took(topic)
    decoded = decode_input(topic, partition, offset, value, wall_clock_ms()).decoded
    out: list[Event | DeadLetter] = list(decoded.events)
    if decoded.dead_letter is not None:
        out.append(decoded.dead_letter)
    return out


# -- routing: the product's routing table (flows.routing), for the steps the peer has -----------------

# The peer has no kit steps: a kit component change is not routed to the SKU of the component.
EVENTS_TO_SKUS = routing.Route(
    "availability", {kind: key for kind, key in routing.EVENTS_TO_SKUS.keys.items() if kind is not KitComponentChanged}
)
# Which keyed step's topic each decoded input goes to (the peer re-keys through one topic per step).
EVENT_ROUTES = (routing.EVENTS_TO_UPCS, routing.EVENTS_TO_LOCATIONS, routing.EVENTS_TO_LISTINGS, EVENTS_TO_SKUS)


def routed_by(route: routing.Route) -> Callable[[Any], bool]:
    return lambda value: route.key(value) is not None


def key_of(route: routing.Route) -> Callable[[Any], str]:
    def key(value: Any) -> str:
        found = route.key(value)
        assert found is not None  # filtered by routed_by first
        return found

    return key


def is_dead_letter(value: Any) -> bool:
    return isinstance(value, DeadLetter)


def note_uncovered(value: Any) -> bool:
    """True for what the peer routes somewhere; counts the kinds it leaves out."""
    covered = any(route.key(value) is not None for route in EVENT_ROUTES)
    if not covered and not is_dead_letter(value):
        PROGRESS.skipped[type(value).__name__] += 1
    return covered or is_dead_letter(value)


# -- keyed steps -------------------------------------------------------------------------------

StatefulCallback = Callable[[Any, Any, int, Any, State], list[Any]]


def _keyed_step(create: Callable[[str], Any], apply: Callable[[Any, Any], list[Any]], empty: Callable[[Any], bool],
                engine: bool = False) -> StatefulCallback:  # fmt: skip
    """A Quix stateful callback (value, key, timestamp, headers, state) around one of our state classes."""

    def step(value: Any, key: Any, timestamp: int, headers: Any, state: State) -> list[Any]:
        PROGRESS.took(message_context().topic)
        current = state.get(STATE_KEY)
        if current is None:
            current = create(key)
        out = apply(current, value)
        if empty(current):
            state.delete(STATE_KEY)
        else:
            state.set(STATE_KEY, current)
        if engine:
            PROGRESS.last_engine_s = time.perf_counter()
        return out

    return step


def _apply_upc(state: UpcState, value: Any) -> list[Any]:
    return list(state.apply(value, wall_clock_ms()))


resolve_upc = _keyed_step(UpcState, _apply_upc, lambda s: s.is_empty)


def _reference_step(names_sku: bool, wait_ms: int) -> StatefulCallback:
    reason = UNKNOWN_CHANNEL_SKU if names_sku else UNKNOWN_LOCATION

    def apply(state: Reference, value: Any) -> list[Any]:
        now_ms = wall_clock_ms()
        # No per-key timers in Quix: a reservation that waited in vain is given up on at the key's next input.
        out: list[Any] = list(state.give_up(now_ms, wait_ms, reason))
        if isinstance(value, ReservationReceived):
            return out + list(state.check(value, now_ms))
        return out + list(state.learn(value))

    return _keyed_step(lambda key: Reference(key, names_sku=names_sku), apply, lambda s: s.is_empty)


def check_location(wait_ms: int) -> StatefulCallback:
    return _reference_step(False, wait_ms)


def resolve_listing(wait_ms: int) -> StatefulCallback:
    return _reference_step(True, wait_ms)


def availability(rules: EngineRules) -> StatefulCallback:
    def apply(state: SkuState, value: Any) -> list[Output]:
        # SkuState.apply runs the timers due before the input first (holds, lots, grace); Quix has no
        # timer that would fire them with no further input.
        return state.apply(value, wall_clock_ms(), rules)

    return _keyed_step(SkuState, apply, lambda s: False, engine=True)
