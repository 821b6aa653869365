"""The availability dataflow: Debezium change topics and channel reservations in; availability,
alerts and dead letters out.

    cdc_in ─► decode ─┬─► dead_letters ──────────────────────────────────────────────────────┐
                      ├─► transactions (per source: whole, in commit order) ─┐                │
                      └─► snapshot reads, reservations, repairs ─────────────┴─► events       │
        sale tickets/lines ─► join_tickets ─┐                                                 │
        store stock, item UPCs ─────────────┴─► resolve_upc ─┐                                │
        reservations ─► check_location ─► resolve_listing ─► explode_kits ─┐                  │
        ERP stock, items, lots, POs, safety stock, kit components ─────────┴─► availability ─┤
                                                   component supply, kit terms ─► kits ──────┤
                     records by location ─► channel_locations ─► channel_sums ─► channel_feed ┤
                                 to_kafka: each key's last record of an epoch, at its close ◄┘

Keys: ``transactions`` by source database (``erp``, ``pos``), ``resolve_upc`` by UPC,
``join_tickets`` by ticket, ``check_location`` by location, ``resolve_listing`` by channel
and channel SKU, ``explode_kits``, ``availability`` and ``kits`` by SKU. Time-driven changes (holds that lapse,
lots that expire, fulfilment grace, inputs that waited in vain for their
reference) are Bytewax timers on those keys: ``notify_at`` returns the soonest
deadline, and it fires with no further input.

Step ids are part of the stored recovery format: Bytewax keys snapshots by
step id, so renaming a stateful step would silently start it from empty state
while the inputs resume from their saved offsets.

Run with ``atp run`` (which adds recovery), or directly:
``python -m flows.run -r .atp/recovery -s 0.2`` (``flows/run.py``: the epoch in fractions of a second).
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
import pickle
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import bytewax.operators as op
from bytewax.connectors.kafka import KafkaError, KafkaSourceMessage
from bytewax.dataflow import Dataflow, Stream
from bytewax.inputs import Source
from bytewax.outputs import DynamicSink

from atp.domain.channels import (
    ChannelFeed,
    ChannelFigures,
    ChannelRecord,
    ChannelRules,
    ChannelSums,
    LocationBook,
    LocationRestamp,
    LocationSupply,
)
from atp.domain.epoch_batch import batch_key
from atp.domain.events import (
    Event,
    InboundChanged,
    ItemChanged,
    KitComponentChanged,
    ListingChanged,
    LocationChanged,
    LotChanged,
    ReservationReceived,
    SafetyStockChanged,
    SaleLineChanged,
    SaleRecorded,
    SaleTicketChanged,
    StockCorrected,
    StockLevel,
    StoreStockByUpc,
    UpcReleased,
)
from atp.domain.kits import ComponentSupply, KitBom, KitInput, KitState, KitTerms
from atp.domain.ledger import DEAD_LETTERED, USED, InputLedger
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter, Withdrawn
from atp.domain.references import UNKNOWN_CHANNEL_SKU, UNKNOWN_LOCATION, Reference
from atp.domain.rules import KIT
from atp.domain.sales import TicketState
from atp.domain.sku_state import EngineRules, Output, SkuInput, SkuState
from atp.domain.transactions import Released, TransactionLog, TxChange, TxInput
from atp.domain.upc_resolution import UpcInput, UpcState
from atp.metrics import ACTIVE_HOLDS, INPUT_EVENTS, INPUTS_ACCOUNTED, KEYS_IN_STATE, TIMERS_PENDING
from atp.rule_settings import channel_rules_from, rules_from
from atp.settings import Settings, load_settings
from connectors import topics
from connectors.cdc.decode import (
    TRANSACTION_TOPICS,
    Decoded,
    decode_boundary,
    decode_change,
    masked_payload,
    source_of_topic,
)
from connectors.epoch_gate import EpochGate
from connectors.kafka_config import client_config
from connectors.repairs import decode_repair
from connectors.reservations import decode_reservation

RawMessage = KafkaSourceMessage[bytes | None, bytes | None]
OutputRecord = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord
EngineOutput = OutputRecord | Withdrawn
Clock = Callable[[], int]

INPUT_TOPICS = topics.INPUT_TOPICS

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
            # are published now (connectors.epoch_gate), so the key's next change opens a new one.
            seal = getattr(self._live, "seal", None)
            if seal is not None:
                seal()
            self._rested = pickle.dumps(self._live, protocol=pickle.HIGHEST_PROTOCOL)
        self._live = None
        return self._deadline, self.gauge_share, self._rested


class TransactionAssembly(KeyedLogic[TransactionLog, TxInput, Released | DeadLetter]):
    """Keyed by source database: its transactions, each released whole and in commit order."""

    STEP = "transactions"

    __slots__ = ("wait_ms", "max_changes")

    def __init__(self, resumed: Snapshot | None, clock: Clock, wait_ms: int, max_changes: int) -> None:
        super().__init__(resumed, clock)
        self.wait_ms = wait_ms
        self.max_changes = max_changes

    @classmethod
    def builder_with(
        cls, clock: Clock, wait_ms: int, max_changes: int
    ) -> Callable[[Snapshot | None], TransactionAssembly]:
        return lambda resumed: cls(resumed, clock, wait_ms, max_changes)

    def create(self, key: str) -> TransactionLog:
        return TransactionLog(key)

    def apply(self, state: TransactionLog, value: TxInput, now_ms: int) -> list[Released | DeadLetter]:
        return state.receive(value, now_ms, self.max_changes)

    def expire(self, state: TransactionLog, now_ms: int) -> list[Released | DeadLetter]:
        return state.expire(now_ms, self.wait_ms)

    def deadline_ms(self, state: TransactionLog) -> int | None:
        return state.deadline_ms(self.wait_ms)


class ResolveUpc(KeyedLogic[UpcState, UpcInput, StockLevel | SaleRecorded]):
    """Keyed by UPC: joins POS store stock and sales with the item master's UPC -> SKU mapping."""

    STEP = "resolve_upc"

    def create(self, key: str) -> UpcState:
        return UpcState(key)

    def apply(self, state: UpcState, value: UpcInput, now_ms: int) -> list[StockLevel | SaleRecorded]:
        return state.apply(value)

    def keep(self, state: UpcState) -> bool:
        return not state.is_empty


class JoinTickets(KeyedLogic[TicketState, SaleTicketChanged | SaleLineChanged, SaleRecorded]):
    """Keyed by POS ticket: a sale line learns its store from its ticket."""

    STEP = "join_tickets"

    def create(self, key: str) -> TicketState:
        return TicketState(int(key))

    def apply(self, state: TicketState, value: SaleTicketChanged | SaleLineChanged, now_ms: int) -> list[SaleRecorded]:
        return state.apply(value)


# What reaches the location- and listing-keyed steps.
ReferenceInput = ReservationReceived | LocationChanged | ListingChanged


class CheckReference(KeyedLogic[Reference, ReferenceInput, ReservationReceived | DeadLetter]):
    """Keyed by location or by listing: a reservation passes once what it names is known to the ERP."""

    __slots__ = ("names_sku", "wait_ms")

    def __init__(self, resumed: Snapshot | None, clock: Clock, names_sku: bool, wait_ms: int) -> None:
        self.names_sku = names_sku
        self.wait_ms = wait_ms
        super().__init__(resumed, clock)

    @property
    def step(self) -> str:
        return "resolve_listing" if self.names_sku else "check_location"

    def create(self, key: str) -> Reference:
        return Reference(key, names_sku=self.names_sku)

    def apply(self, state: Reference, value: ReferenceInput, now_ms: int) -> list[ReservationReceived | DeadLetter]:
        if isinstance(value, ReservationReceived):
            return list(state.check(value, now_ms))
        return list(state.learn(value))

    def expire(self, state: Reference, now_ms: int) -> list[ReservationReceived | DeadLetter]:
        reason = UNKNOWN_CHANNEL_SKU if self.names_sku else UNKNOWN_LOCATION
        return list(state.give_up(now_ms, self.wait_ms, reason))

    def deadline_ms(self, state: Reference) -> int | None:
        return state.deadline_ms(self.wait_ms)

    def keep(self, state: Reference) -> bool:
        return not state.is_empty


# What reaches the kit-explosion step: reservations by SKU, and what makes a SKU a kit.
BomInput = ReservationReceived | KitComponentChanged | ItemChanged


class ExplodeKits(KeyedLogic[KitBom, BomInput, ReservationReceived]):
    """Keyed by SKU: a reservation on a kit also reserves its components."""

    STEP = "explode_kits"

    def create(self, key: str) -> KitBom:
        return KitBom(key)

    def apply(self, state: KitBom, value: BomInput, now_ms: int) -> list[ReservationReceived]:
        if isinstance(value, KitComponentChanged):
            return state.apply_component(value)
        if isinstance(value, ItemChanged):
            state.apply_item(value.item_type)
            return []
        return state.explode(value)

    def keep(self, state: KitBom) -> bool:
        return not state.is_empty


class Availability(KeyedLogic[SkuState, SkuInput, Output]):
    """Keyed by SKU: every location of the SKU, and the records their changes publish."""

    STEP = "availability"

    __slots__ = ("rules",)

    def __init__(self, resumed: Snapshot | None, clock: Clock, rules: EngineRules) -> None:
        super().__init__(resumed, clock)
        self.rules = rules
        # A resumed key's holds as it last counted them (a hold that lapsed meanwhile fires its timer at once).
        ACTIVE_HOLDS.inc(self.gauge_share)

    def create(self, key: str) -> SkuState:
        return SkuState(key)

    def apply(self, state: SkuState, value: SkuInput, now_ms: int) -> list[Output]:
        out = state.apply(value, now_ms, self.rules)
        if self.gauge_share or isinstance(value, ReservationReceived):  # only then can the SKU's holds have changed
            self._count_holds(state, now_ms)
        return out

    def expire(self, state: SkuState, now_ms: int) -> list[Output]:
        out = state.on_timer(now_ms, self.rules)
        if self.gauge_share:
            self._count_holds(state, now_ms)
        return out

    def _count_holds(self, state: SkuState, now_ms: int) -> None:
        holds = state.active_holds(now_ms, self.rules)
        ACTIVE_HOLDS.inc(holds - self.gauge_share)
        self.gauge_share = holds

    def deadline_ms(self, state: SkuState) -> int | None:
        return state.next_deadline_ms(self.rules)


class Kits(KeyedLogic[KitState, KitInput, AvailabilityRecord | AlertRecord | Withdrawn]):
    """Keyed by kit SKU: what its components allow at each location."""

    STEP = "kits"

    __slots__ = ("low_stock_threshold",)

    def __init__(self, resumed: Snapshot | None, clock: Clock, low_stock_threshold: int) -> None:
        super().__init__(resumed, clock)
        self.low_stock_threshold = low_stock_threshold

    def create(self, key: str) -> KitState:
        return KitState(key)

    def apply(
        self, state: KitState, value: KitInput, now_ms: int
    ) -> list[AvailabilityRecord | AlertRecord | Withdrawn]:
        return state.apply(value, now_ms, self.low_stock_threshold)


Stamped = LocationSupply | LocationRestamp


class ChannelLocations(KeyedLogic[LocationBook, AvailabilityRecord | LocationChanged, Stamped]):
    """Keyed by location: stamps availability with whether the location ships online."""

    STEP = "channel_locations"

    def create(self, key: str) -> LocationBook:
        return LocationBook(key)

    def apply(self, state: LocationBook, value: AvailabilityRecord | LocationChanged, now_ms: int) -> list[Stamped]:
        return state.apply(value)


SumsInput = LocationSupply | LocationRestamp | ListingChanged


class ChannelSumsLogic(KeyedLogic[ChannelSums, SumsInput, ChannelFigures]):
    """Keyed by SKU: per channel, the sum over the locations it may fulfil from, less its buffer."""

    STEP = "channel_sums"

    __slots__ = ("rules",)

    def __init__(self, resumed: Snapshot | None, clock: Clock, rules: ChannelRules) -> None:
        super().__init__(resumed, clock)
        self.rules = rules

    def create(self, key: str) -> ChannelSums:
        return ChannelSums(key)

    def apply(self, state: ChannelSums, value: SumsInput, now_ms: int) -> list[ChannelFigures]:
        return state.apply(value, now_ms, self.rules)


class ChannelFeedLogic(KeyedLogic[ChannelFeed, ChannelFigures | ListingChanged, ChannelRecord | Withdrawn]):
    """Keyed by channel and channel SKU: the listing's current item, and its versioned records."""

    STEP = "channel_feed"

    def create(self, key: str) -> ChannelFeed:
        channel, _, channel_sku = key.partition("/")
        return ChannelFeed(channel, channel_sku)

    def apply(
        self, state: ChannelFeed, value: ChannelFigures | ListingChanged, now_ms: int
    ) -> list[ChannelRecord | Withdrawn]:
        return state.apply(value, now_ms)


@dataclass(frozen=True, slots=True)
class Read:
    """One input message, decoded: where it came from, and what it said (or why it cannot be used)."""

    topic: str
    partition: int
    offset: int
    decoded: Decoded


# The next offset the input ledger has counted, per (topic, partition) of this process: the dataflow's own lag.
LEDGER_POSITIONS: dict[tuple[str, int], int] = {}


class InputLedgerLogic(KeyedLogic[InputLedger, tuple[int, bool], None]):
    """Keyed by topic partition: how each input ended (used or dead-lettered), counted once per offset."""

    STEP = "input_ledger"

    __slots__ = ("_gauges",)

    def __init__(self, resumed: Snapshot | None, clock: Clock) -> None:
        super().__init__(resumed, clock)
        self._gauges: tuple[Any, Any, Any] | None = None
        if self.state is not None:  # resumed from a snapshot: what it had counted, nothing read yet
            self._export(self.state, read=False)

    def create(self, key: str) -> InputLedger:
        topic, _, partition = key.rpartition("#")
        return InputLedger(topic, int(partition))

    def apply(self, state: InputLedger, value: tuple[int, bool], now_ms: int) -> list[None]:
        offset, dead_lettered = value
        if state.record(offset, dead_lettered):
            self._export(state, read=True)
        return []

    def _export(self, state: InputLedger, read: bool) -> None:
        if self._gauges is None:
            partition = str(state.partition)
            self._gauges = (
                INPUT_EVENTS.labels(state.topic),
                INPUTS_ACCOUNTED.labels(state.topic, partition, USED),
                INPUTS_ACCOUNTED.labels(state.topic, partition, DEAD_LETTERED),
            )
        inputs, used, dead = self._gauges
        if read:
            inputs.inc()
        used.set(state.used)
        dead.set(state.dead_lettered)
        LEDGER_POSITIONS[(state.topic, state.partition)] = state.next_offset


def _to_ledger(read: Read) -> tuple[str, tuple[str, tuple[int, bool]]]:
    return _keyed(f"{read.topic}#{read.partition}", (read.offset, read.decoded.dead_letter is not None))


def _consumer_error(error: KafkaError[bytes | None, bytes | None], clock: Clock) -> DeadLetter:
    msg = error.msg
    return DeadLetter(
        source_topic=msg.topic or "",
        partition=msg.partition or 0,
        offset=msg.offset or -1,
        reason="consumer_error",
        error=str(error.err),
        payload=masked_payload(msg.value),
        at_ms=clock(),
    )


def _decoder(clock: Clock) -> Callable[[RawMessage], Read]:
    def decode(msg: RawMessage) -> Read:
        topic, partition, offset = msg.topic or "", msg.partition or 0, msg.offset or 0
        if topic == topics.RESERVATIONS:
            decoded = decode_reservation(topic, partition, offset, msg.value, clock())
        elif topic == topics.RECONCILE:
            decoded = decode_repair(topic, partition, offset, msg.value, clock())
        elif topic in TRANSACTION_TOPICS:
            decoded = decode_boundary(topic, partition, offset, msg.value, clock())
        else:
            decoded = decode_change(topic, partition, offset, msg.value, clock())
        return Read(topic, partition, offset, decoded)

    return decode


def _keyed(key: str, value: V) -> tuple[str, tuple[str, V]]:
    return key, (key, value)


def _to_transactions(read: Read) -> list[tuple[str, tuple[str, TxInput]]]:
    """A change that is part of a source transaction, or a transaction's BEGIN/END: to its source's log."""
    decoded = read.decoded
    if decoded.boundary is not None:
        return [_keyed(source_of_topic(read.topic), decoded.boundary)]
    if decoded.transaction is not None:
        tx_id, order = decoded.transaction
        return [_keyed(source_of_topic(read.topic), TxChange(tx_id, order, tuple(decoded.events)))]
    return []


def _untransacted_events(read: Read) -> list[Event]:
    """Events that need no transaction: snapshot reads, reservations, repairs (and none of a transaction's)."""
    decoded = read.decoded
    if decoded.transaction is not None or decoded.boundary is not None:
        return []
    return decoded.events


def _released_events(value: Released | DeadLetter) -> tuple[Event, ...]:
    return value.events if isinstance(value, Released) else ()


def _released_letter(value: Released | DeadLetter) -> DeadLetter | None:
    return value if isinstance(value, DeadLetter) else None


def _for_publisher(output: EngineOutput) -> tuple[str, EngineOutput]:
    return batch_key(output), output


def _to_upc(event: Event) -> list[tuple[str, tuple[str, UpcInput]]]:
    if isinstance(event, StoreStockByUpc | UpcReleased):
        return [_keyed(event.upc, event)]
    if isinstance(event, ItemChanged) and event.upc is not None:
        return [_keyed(event.upc, event)]
    return []


def _to_ticket(event: Event) -> list[tuple[str, tuple[str, SaleTicketChanged | SaleLineChanged]]]:
    if isinstance(event, SaleTicketChanged | SaleLineChanged):
        return [_keyed(str(event.ticket_id), event)]
    return []


def _to_location(event: Event) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(event, ReservationReceived | LocationChanged):
        return [_keyed(event.location, event)]
    return []


def _listing_key(channel: str, channel_sku: str) -> str:
    return f"{channel}/{channel_sku}"


def _listing_change(event: Event) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(event, ListingChanged):
        return [_keyed(_listing_key(event.channel, event.channel_sku), event)]
    return []


def _located(
    value: ReservationReceived | DeadLetter,
) -> list[tuple[str, tuple[str, ReferenceInput]]]:
    if isinstance(value, ReservationReceived):
        return [_keyed(_listing_key(value.channel, value.channel_sku), value)]
    return []


def _kit_bom_change(event: Event) -> list[tuple[str, tuple[str, BomInput]]]:
    if isinstance(event, KitComponentChanged):
        return [_keyed(event.kit_sku, event)]
    if isinstance(event, ItemChanged) and event.item_type == KIT:
        return [_keyed(event.sku, event)]
    return []


def _listed(value: ReservationReceived | DeadLetter) -> list[tuple[str, tuple[str, BomInput]]]:
    if isinstance(value, ReservationReceived):
        return [_keyed(value.sku, value)]
    return []


def _erp_to_sku(event: Event) -> list[tuple[str, tuple[str, SkuInput]]]:
    """The SKU a decoded ERP input concerns; a kit component change concerns the component (kits have a step)."""
    if isinstance(event, StockLevel | ItemChanged | LotChanged | InboundChanged | SafetyStockChanged | StockCorrected):
        return [_keyed(event.sku, event)]
    if isinstance(event, KitComponentChanged):
        return [_keyed(event.component_sku, event)]
    return []


def _resolved_to_sku(value: StockLevel | SaleRecorded | ReservationReceived) -> list[tuple[str, tuple[str, SkuInput]]]:
    return [_keyed(value.sku, value)]


def _to_kit(value: Any) -> list[tuple[str, tuple[str, KitInput]]]:
    if isinstance(value, ComponentSupply | KitTerms | KitComponentChanged):
        return [_keyed(value.kit_sku, value)]
    return []


def _record_by_location(value: Any) -> list[tuple[str, tuple[str, AvailabilityRecord | LocationChanged]]]:
    if isinstance(value, AvailabilityRecord):
        return [_keyed(value.location, value)]
    return []


def _location_change(event: Event) -> list[tuple[str, tuple[str, AvailabilityRecord | LocationChanged]]]:
    if isinstance(event, LocationChanged):
        return [_keyed(event.location, event)]
    return []


def _supply_by_sku(supply: Stamped) -> tuple[str, tuple[str, SumsInput]]:
    return _keyed(supply.sku, supply)


def _listing_by_sku(event: Event) -> list[tuple[str, tuple[str, SumsInput]]]:
    if isinstance(event, ListingChanged):
        return [_keyed(event.sku, event)]
    return []


def _for_feed(
    channels: frozenset[str],
) -> Callable[[Any], list[tuple[str, tuple[str, ChannelFigures | ListingChanged]]]]:
    """Figures and listings of the configured channels, keyed by listing (other channels get no topic)."""

    def route(value: Any) -> list[tuple[str, tuple[str, ChannelFigures | ListingChanged]]]:
        if isinstance(value, ChannelFigures | ListingChanged) and value.channel in channels:
            return [_keyed(_listing_key(value.channel, value.channel_sku), value)]
        return []

    return route


def _is_output(value: Any) -> bool:
    return isinstance(value, AvailabilityRecord | AlertRecord | DeadLetter | Withdrawn)


def _consumer_errors(item: RawMessage | KafkaError[bytes | None, bytes | None]) -> bool:
    return isinstance(item, KafkaError)


def _input(
    flow: Dataflow, settings: Settings, source: Source[Any] | None, clock: Clock
) -> tuple[Stream[RawMessage], list[Stream[DeadLetter]]]:
    if source is not None:
        return op.input("cdc_in", flow, source), []
    from connectors.kafka_source import AtpKafkaSource

    config = client_config(settings)
    read = op.input("cdc_in", flow, AtpKafkaSource(config, list(INPUT_TOPICS), batch_size=1000))
    split = op.branch("consumer_errors_or_not", read, _consumer_errors)
    errors: Stream[KafkaError[bytes | None, bytes | None]] = split.trues  # type: ignore[assignment]
    messages: Stream[RawMessage] = split.falses  # type: ignore[assignment]
    return messages, [op.map("consumer_errors", errors, lambda e: _consumer_error(e, clock))]


def build_flow(
    settings: Settings,
    source: Source[Any] | None = None,
    sink: DynamicSink[OutputRecord] | None = None,
    clock: Clock = wall_clock_ms,
) -> Dataflow:
    """The availability dataflow; tests pass a testing source of Kafka messages, a list sink and a clock."""
    flow = Dataflow("atp_availability")
    rules = rules_from(settings)
    raw, letters = _input(flow, settings, source, clock)

    decoded = op.map("decode_cdc", raw, _decoder(clock))
    letters.append(op.filter_map("dead_letters", decoded, lambda r: r.decoded.dead_letter))

    # Source transactions: each source's changes wait in its log until their transaction is whole and every
    # transaction committed before it has gone; then its events go on together, in commit order.
    released = op.stateful_batch(
        "transactions",
        op.flat_map("route_to_transactions", decoded, _to_transactions),
        TransactionAssembly.builder_with(clock, settings.tx_wait_s * 1000, settings.tx_max_changes),
    )
    released_out = op.key_rm("unkey_released", released)
    letters.append(op.filter_map("transaction_letters", released_out, _released_letter))
    events = op.merge(
        "events",
        op.flat_map("untransacted_events", decoded, _untransacted_events),
        op.flat_map("transaction_events", released_out, _released_events),
    )
    # Every input is either used or dead-lettered: the ledger counts which, once per offset (metrics, chaos test).
    op.stateful_batch("input_ledger", op.map("route_to_ledger", decoded, _to_ledger), InputLedgerLogic.builder(clock))

    # POS sales learn their store from the ticket, then (like store stock) their SKU from the UPC.
    sales = op.stateful_batch(
        "join_tickets", op.flat_map("route_to_ticket", events, _to_ticket), JoinTickets.builder(clock)
    )
    sales_by_upc = op.map("key_sales", op.key_rm("unkey_sales", sales), lambda s: _keyed(s.upc, s))
    by_upc = op.merge("upc_inputs", op.flat_map("route_to_upc", events, _to_upc), sales_by_upc)
    from_stores = op.key_rm("unkey_resolved", op.stateful_batch("resolve_upc", by_upc, ResolveUpc.builder(clock)))

    # Channel reservations: the location must exist, the channel SKU names the SKU, a kit reserves its parts.
    wait_ms = rules.unresolved_wait_ms
    located = op.stateful_batch(
        "check_location",
        op.flat_map("route_to_location", events, _to_location),
        lambda resumed: CheckReference(resumed, clock, False, wait_ms),
    )
    located_out = op.key_rm("unkey_located", located)
    listing_inputs = op.merge(
        "listing_inputs",
        op.flat_map("route_to_listing", events, _listing_change),
        op.flat_map("route_located", located_out, _located),
    )
    listed = op.key_rm(
        "unkey_listed",
        op.stateful_batch(
            "resolve_listing", listing_inputs, lambda resumed: CheckReference(resumed, clock, True, wait_ms)
        ),
    )
    bom_inputs = op.merge(
        "bom_inputs",
        op.flat_map("route_kit_bom", events, _kit_bom_change),
        op.flat_map("route_listed", listed, _listed),
    )
    reservations = op.key_rm(
        "unkey_exploded", op.stateful_batch("explode_kits", bom_inputs, ExplodeKits.builder(clock))
    )

    by_sku = op.merge(
        "sku_inputs",
        op.flat_map("route_to_sku", events, _erp_to_sku),
        op.flat_map("route_store_stock", from_stores, _resolved_to_sku),
        op.flat_map("route_reservations", reservations, _resolved_to_sku),
    )
    engine = op.key_rm(
        "unkey_records", op.stateful_batch("availability", by_sku, lambda resumed: Availability(resumed, clock, rules))
    )

    threshold = rules.low_stock_threshold
    kit_inputs = op.merge(
        "kit_inputs", op.flat_map("route_to_kit", engine, _to_kit), op.flat_map("route_bom_to_kit", events, _to_kit)
    )
    kits = op.key_rm(
        "unkey_kits", op.stateful_batch("kits", kit_inputs, lambda resumed: Kits(resumed, clock, threshold))
    )

    # Channels: availability stamped per location, summed per SKU, versioned per listing.
    by_location = op.merge(
        "channel_location_inputs",
        op.flat_map("route_records_to_location", engine, _record_by_location),
        op.flat_map("route_kit_records_to_location", kits, _record_by_location),
        op.flat_map("route_locations_to_channels", events, _location_change),
    )
    stamped = op.key_rm(
        "unkey_stamped", op.stateful_batch("channel_locations", by_location, ChannelLocations.builder(clock))
    )
    channel_rules = channel_rules_from(settings)
    sums_inputs = op.merge(
        "channel_sum_inputs",
        op.map("route_supply_to_sku", stamped, _supply_by_sku),
        op.flat_map("route_listings_to_sku", events, _listing_by_sku),
    )
    figures = op.key_rm(
        "unkey_figures",
        op.stateful_batch("channel_sums", sums_inputs, lambda resumed: ChannelSumsLogic(resumed, clock, channel_rules)),
    )
    configured = frozenset(settings.channels)
    feed_inputs = op.merge(
        "channel_feed_inputs",
        op.flat_map("route_figures_to_listing", figures, _for_feed(configured)),
        op.flat_map("route_listings_to_feed", events, _for_feed(configured)),
    )
    channel_records = op.key_rm(
        "unkey_channel_records", op.stateful_batch("channel_feed", feed_inputs, ChannelFeedLogic.builder(clock))
    )

    outgoing: Stream[EngineOutput] = op.merge(
        "outgoing",
        op.filter("engine_out", engine, _is_output),
        kits,
        channel_records,
        op.filter("reference_out", located_out, _is_output),
        op.filter("listing_out", listed, _is_output),
        *letters,
    )
    if sink is None:
        from connectors.kafka_sink import AtpKafkaSink

        sink = AtpKafkaSink(settings)
    # Each epoch publishes, at its close, the last record of each key: a state every step has finished.
    op.output("to_kafka", op.map("key_for_publisher", outgoing, _for_publisher), EpochGate(sink))
    return flow


def _cluster_process() -> tuple[int, bool]:
    """This process's index in a Bytewax cluster (``-i``/``--process-id``), and whether it is in one (``-a``)."""
    import os
    import sys

    args = sys.argv[1:]
    index = int(os.environ.get("BYTEWAX_PROCESS_ID", "0"))
    for flag in ("-i", "--process-id"):
        if flag in args and args.index(flag) + 1 < len(args):
            index = int(args[args.index(flag) + 1])
    clustered = "-a" in args or "--addresses" in args or bool(os.environ.get("BYTEWAX_ADDRESSES"))
    return index, clustered


def _tune_garbage_collector() -> None:
    """Make CPython's cycle collector rare in the dataflow process.

    The engine's state is plain data without reference cycles, yet every key woken from its pickle
    allocates hundreds of containers, and the collector (by default after every 700 net allocations)
    then walks the young objects: 19% of the flow's time in a profile with recovery on (bench/results.md).
    ``freeze`` moves what start-up imported out of its reach; the higher first threshold makes young
    collections rare. Garbage without cycles is still freed at once by reference counting.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def flow_from_environment() -> Dataflow:
    from atp import metrics
    from atp.log_format import configure_logging
    from connectors.lag import LagReporter

    settings = load_settings()
    _tune_garbage_collector()
    configure_logging()
    process, clustered = _cluster_process()
    metrics.serve(settings.flow_metrics_port + process if settings.flow_metrics_port else 0, "dataflow")

    # Positions come from the input ledger (restored with the state on resume), never from the recovery files:
    # opening Bytewax's live SQLite files with Python's own SQLite library in the same process breaks their locks.
    # A partition the ledger has not seen is read from its start, so its lag is all of it. In a cluster each
    # process reports only the partitions it reads (Bytewax assigns them; the ledger learns which).
    LagReporter(settings, "dataflow", INPUT_TOPICS, lambda: dict(LEDGER_POSITIONS), only_known=clustered).start()
    return build_flow(settings)


def __getattr__(name: str) -> Any:
    # `python -m bytewax.run flows.availability:flow` reads the settings only when the flow is asked for,
    # so importing this module (tests, type checks) needs no environment.
    if name == "flow":
        return flow_from_environment()
    raise AttributeError(name)
