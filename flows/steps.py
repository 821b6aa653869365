"""The stateful steps of the dataflow: each adapts one domain state (atp.domain) to Bytewax, keyed as it says.

Step ids are part of the stored recovery format (see flows.availability).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atp.domain.back_in_stock import CustomerWishes
from atp.domain.channels import (
    ChannelFigures,
    ChannelRules,
    ChannelSums,
    LocationBook,
    LocationRestamp,
    LocationSupply,
)
from atp.domain.engine_rules import EngineRules
from atp.domain.events import (
    CustomerForgotten,
    ItemChanged,
    KitComponentChanged,
    ListingChanged,
    LocationChanged,
    Provenance,
    ReservationReceived,
    SaleLineChanged,
    SaleRecorded,
    SaleTicketChanged,
    StockLevel,
    WishChanged,
)
from atp.domain.kits import KitBom, KitInput, KitState
from atp.domain.ledger import DEAD_LETTERED, DEAD_LETTERED_LATER, USED, InputLedger
from atp.domain.listing import Listing, ListingInput, ListingOutput
from atp.domain.promotable import PromotionRules
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter, Withdrawn
from atp.domain.references import UNKNOWN_CHANNEL_SKU, UNKNOWN_LOCATION, Reference
from atp.domain.sales import TicketState
from atp.domain.sku_state import Output, SkuInput, SkuState
from atp.domain.transactions import Released, TransactionLog, TxInput
from atp.domain.upc_resolution import UpcInput, UpcState
from atp.metrics import ACTIVE_HOLDS, INPUT_EVENTS, INPUTS_ACCOUNTED
from flows.keyed import Clock, KeyedLogic, Snapshot


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


class ResolveUpc(KeyedLogic[UpcState, UpcInput, StockLevel | SaleRecorded | DeadLetter]):
    """Keyed by UPC: joins POS store stock and sales with the item master's UPC -> SKU mapping; what waits in
    vain for its UPC is dead-lettered after ``wait_ms``."""

    STEP = "resolve_upc"

    __slots__ = ("wait_ms",)

    def __init__(self, resumed: Snapshot | None, clock: Clock, wait_ms: int) -> None:
        super().__init__(resumed, clock)
        self.wait_ms = wait_ms

    def create(self, key: str) -> UpcState:
        return UpcState(key)

    def apply(self, state: UpcState, value: UpcInput, now_ms: int) -> list[StockLevel | SaleRecorded | DeadLetter]:
        return list(state.apply(value, now_ms))

    def leaves_unchanged(self, state: UpcState, value: UpcInput) -> bool:
        return state.passes_through(value)

    def expire(self, state: UpcState, now_ms: int) -> list[StockLevel | SaleRecorded | DeadLetter]:
        return list(state.give_up(now_ms, self.wait_ms))

    def deadline_ms(self, state: UpcState) -> int | None:
        return state.deadline_ms(self.wait_ms)

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

    def leaves_unchanged(self, state: LocationBook, value: AvailabilityRecord | LocationChanged) -> bool:
        return state.stamps_only(value)


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


class ListingLogic(KeyedLogic[Listing, ListingInput, ListingOutput]):
    """Keyed by channel and channel SKU: the listing's versioned channel records, whether a promotion may advertise
    it (a timer: the moment a figure that rose has held for the stable time), and its wishes, told once (with
    consent) when it is back (a timer lets go of the wishes told or closed 31 days ago)."""

    STEP = "listing"

    __slots__ = ("rules",)

    def __init__(self, resumed: Snapshot | None, clock: Clock, rules: PromotionRules) -> None:
        super().__init__(resumed, clock)
        self.rules = rules

    def create(self, key: str) -> Listing:
        channel, _, channel_sku = key.partition("/")
        return Listing.of(channel, channel_sku)

    def apply(self, state: Listing, value: ListingInput, now_ms: int) -> list[ListingOutput]:
        return state.apply(value, now_ms, self.rules)

    def leaves_unchanged(self, state: Listing, value: ListingInput) -> bool:
        return state.unchanged_by(value)

    def expire(self, state: Listing, now_ms: int) -> list[ListingOutput]:
        return state.on_timer(now_ms, self.rules)

    def deadline_ms(self, state: Listing) -> int | None:
        return state.deadline_ms(self.rules)


class WishCustomers(KeyedLogic[CustomerWishes, WishChanged | CustomerForgotten, WishChanged]):
    """Keyed by a digest of the customer ref: the customer's wishes, so a deletion request reaches each of their
    listings; a forgotten customer's digest is let go of once no event from before the request can come again."""

    STEP = "wish_customers"

    def create(self, key: str) -> CustomerWishes:
        return CustomerWishes(key)

    def apply(self, state: CustomerWishes, value: WishChanged | CustomerForgotten, now_ms: int) -> list[WishChanged]:
        return state.apply(value)

    def expire(self, state: CustomerWishes, now_ms: int) -> list[WishChanged]:
        state.expire(now_ms)
        return []

    def deadline_ms(self, state: CustomerWishes) -> int | None:
        return state.deadline_ms()

    def keep(self, state: CustomerWishes) -> bool:
        return not state.is_empty


# The next offset the input ledger has counted, per (topic, partition) of this process: the dataflow's own lag.
LEDGER_POSITIONS: dict[tuple[str, int], int] = {}


class InputLedgerLogic(KeyedLogic[InputLedger, tuple[int, str], None]):
    """Keyed by topic partition: how each input ended (used or dead-lettered), counted once per offset.

    Its inputs are ``(offset, outcome)``: USED or DEAD_LETTERED as the input was decoded, and
    DEAD_LETTERED_LATER when a step dead-lettered an input it had been counted as used.
    """

    STEP = "input_ledger"

    __slots__ = ("_gauges", "_reported")

    def __init__(self, resumed: Snapshot | None, clock: Clock) -> None:
        super().__init__(resumed, clock)
        self._gauges: tuple[Any, Any, Any] | None = None
        self._reported = 0  # inputs this process counted into INPUT_EVENTS, as the ledger's count
        if self.state is not None:  # resumed from a snapshot: what it had counted, nothing read yet
            self._reported = self.state.counted
            self._export(self.state)

    def create(self, key: str) -> InputLedger:
        topic, _, partition = key.rpartition("#")
        return InputLedger(topic, int(partition))

    def apply(self, state: InputLedger, value: tuple[int, str], now_ms: int) -> list[None]:
        offset, outcome = value
        if outcome == DEAD_LETTERED_LATER:
            changed = state.correct(offset)
        else:
            changed = state.record(offset, outcome == DEAD_LETTERED)
        if changed:
            self._export(state)
        return []

    def origin(self, value: Any) -> Provenance | None:
        topic, _, partition = self._key.rpartition("#")
        return Provenance(0, "", topic, int(partition), value[0])

    def _export(self, state: InputLedger) -> None:
        if self._gauges is None:
            partition = str(state.partition)
            self._gauges = (
                INPUT_EVENTS.labels(state.topic),
                INPUTS_ACCOUNTED.labels(state.topic, partition, USED),
                INPUTS_ACCOUNTED.labels(state.topic, partition, DEAD_LETTERED),
            )
        inputs, used, dead = self._gauges
        counted = state.counted
        if counted > self._reported:  # an input applied again after a failed one is not read again
            inputs.inc(counted - self._reported)
            self._reported = counted
        used.set(state.used)
        dead.set(state.dead_lettered)
        LEDGER_POSITIONS[(state.topic, state.partition)] = state.next_offset
