"""Hostile input at the engine: a step that raises on one input dead-letters that input and goes on.

The guard is in ``flows.keyed.KeyedLogic``: the input becomes an ``engine_error`` dead letter
naming its origin, the key keeps its state as before that input, the other keys are untouched,
and every stateful step's dead letters reach the publisher. The input ledger then counts the
input as dead-lettered, not used (as it does for any input a step dead-letters after decoding).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSink, TestingSource, run_main
from prometheus_client import REGISTRY

from atp.domain.events import StockLevel
from atp.domain.ledger import REMEMBERED_LETTERS, InputLedger
from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.domain.sku_state import SkuState
from atp.domain.transactions import INCOMPLETE_TRANSACTION, OVERSIZED_TRANSACTION
from atp.settings import settings_from_fields
from flows import steps
from flows.keyed import ENGINE_ERROR, ERROR_CHARS, KeyedLogic
from flows.process import availability_flow
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_KITS,
    ERP_LISTINGS,
    ERP_LOCATIONS,
    ERP_SAFETY,
    ERP_STOCK,
    POS_STOCK,
    RESERVATIONS,
    WISHLIST,
    envelope,
    item_row,
    kit_row,
    listing_row,
    location_row,
    mariadb_source,
    message,
    postgres_source,
    reservation_value,
    safety_row,
    stock_bal_row,
    store_stock_row,
    wish_value,
)
from tests.paced_source import PacedSource, ResumablePacedSource

EPOCH = dt.timedelta(milliseconds=20)


class Inputs:
    """Messages on one partition number of every topic (so the ledger's gauges are this test's), offsets counted."""

    def __init__(self, partition: int) -> None:
        self.partition = partition
        self.offsets: dict[str, int] = {}

    def _next(self, topic: str, value: bytes | None):
        offset = self.offsets.get(topic, 0)
        self.offsets[topic] = offset + 1
        return message(topic, value, offset, self.partition)

    def erp(self, topic: str, row: dict, table: str):
        return self._next(topic, envelope("r", None, row, mariadb_source(table, 10_000 + sum(self.offsets.values()))))

    def pos(self, row: dict):
        return self._next(
            POS_STOCK, envelope("r", None, row, postgres_source("store_stock", 5_000 + self.offsets.get(POS_STOCK, 0)))
        )

    def reservation(self, op: str, **fields):
        return self._next(RESERVATIONS, reservation_value(op, **fields))

    def wish(self, op: str, **fields):
        return self._next(WISHLIST, wish_value(op, **fields))


def accounted(topic: str, partition: int) -> tuple[int, int]:
    def value(outcome: str) -> int:
        labels = {"topic": topic, "partition": str(partition), "outcome": outcome}
        return int(REGISTRY.get_sample_value("atp_inputs_accounted", labels) or 0)

    return value("used"), value("dead_lettered")


def letters(out: list, reason: str | None = None) -> list[DeadLetter]:
    return [r for r in out if isinstance(r, DeadLetter) and (reason is None or r.reason == reason)]


def last(out: list, key: str) -> AvailabilityRecord:
    return [r for r in out if isinstance(r, AvailabilityRecord) and r.key == key][-1]


def fail_on_stock(monkeypatch: pytest.MonkeyPatch, sku: str, on_hand: int) -> None:
    """SkuState.apply changes the state, then raises for one stock level: the guard must undo the change."""
    original = SkuState.apply

    def apply(self, value, now_ms, rules):  # type: ignore[no-untyped-def]
        out = original(self, value, now_ms, rules)
        if isinstance(value, StockLevel) and value.sku == sku and value.on_hand == on_hand:
            raise ValueError("cannot apply this stock level " + "x" * 5_000)
        return out

    monkeypatch.setattr(SkuState, "apply", apply)


def poisoned_stock(partition: int) -> tuple[Inputs, list, list]:
    """Two SKUs; BAD-1's third stock message is the one the rules fail on, and a safety stock row follows it."""
    inputs = Inputs(partition)
    first = [
        inputs.erp(ERP_ITEMS, item_row("TEE-1"), "ITEM_MASTER"),
        inputs.erp(ERP_ITEMS, item_row("BAD-1"), "ITEM_MASTER"),
        inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL"),
        inputs.erp(ERP_STOCK, stock_bal_row("BAD-1", "DC0001", "10.000"), "STOCK_BAL"),
        inputs.erp(ERP_STOCK, stock_bal_row("BAD-1", "DC0001", "99.000"), "STOCK_BAL"),  # offset 2: fails
    ]
    later = [
        inputs.erp(ERP_SAFETY, safety_row("BAD-1", "DC0001", 1), "SAFETY_STK"),
        inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "7.000"), "STOCK_BAL"),
    ]
    return inputs, first, later


def settings():
    return settings_from_fields(low_stock_threshold=2, dc_safety_stock=0, store_safety_stock=0, unresolved_wait_s=0)


@pytest.mark.parametrize("epochs", ["one epoch", "epochs apart"])
def test_an_input_a_step_fails_on_is_dead_lettered_and_its_key_goes_on_from_its_state_before(monkeypatch, epochs):
    partition = 11 if epochs == "one epoch" else 12
    fail_on_stock(monkeypatch, "BAD-1", 99)
    _, first, later = poisoned_stock(partition)
    out: list = []
    if epochs == "one epoch":  # the key is restored from its epoch's start and what it applied since, again
        run_main(availability_flow(settings(), TestingSource([*first, *later]), TestingSink(out)))
    else:  # the key is restored from the bytes it rested as
        schedule = [(0.0, m) for m in first[:-1]] + [(0.2, first[-1])] + [(0.4, m) for m in later]
        run_main(availability_flow(settings(), PacedSource(schedule, 0.3), TestingSink(out)), epoch_interval=EPOCH)

    [letter] = letters(out)
    assert (letter.reason, letter.source_topic, letter.partition, letter.offset) == (
        ENGINE_ERROR,
        ERP_STOCK,
        partition,
        2,
    )
    assert "availability" in letter.error and "ValueError" in letter.error and len(letter.error) <= ERROR_CHARS
    bad, tee = last(out, "BAD-1@DC0001"), last(out, "TEE-1@DC0001")
    assert (bad.on_hand, bad.safety_stock, bad.available) == (10, 1, 9)  # not the 99 of the failed input
    assert (tee.on_hand, tee.available) == (7, 7)
    assert all(r.on_hand != 99 for r in out if isinstance(r, AvailabilityRecord))
    assert accounted(ERP_STOCK, partition) == (3, 1)


def test_a_resumed_flow_goes_on_after_an_input_that_failed(monkeypatch, tmp_path: Path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(tmp_path), "1"], check=True, capture_output=True)
    fail_on_stock(monkeypatch, "BAD-1", 99)
    inputs, first, later = poisoned_stock(13)
    schedule = [(0.0, m) for m in first[:-1]] + [(0.2, first[-1])]

    def run(schedule: list) -> list:
        out: list = []
        flow = availability_flow(settings(), ResumablePacedSource(schedule, 0.3), TestingSink(out))
        run_main(flow, epoch_interval=dt.timedelta(milliseconds=50), recovery_config=RecoveryConfig(str(tmp_path)))
        return out

    before = run(schedule)
    after = run([*schedule, *((0.0, m) for m in later)])
    assert [letter.offset for letter in letters(before, ENGINE_ERROR)] == [2]
    assert letters(after) == []
    bad = last(after, "BAD-1@DC0001")
    assert (bad.on_hand, bad.safety_stock, bad.available, bad.version) == (10, 1, 9, 2)
    assert accounted(ERP_STOCK, 13) == (3, 1)


def a_rich_scenario(inputs: Inputs) -> list:
    """Something for every stateful step: items, a kit, locations, listings, DC and store stock, reservations,
    wishes."""
    return [
        inputs.erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION"),
        inputs.erp(ERP_LOCATIONS, location_row("ST0001", "S"), "LOCATION"),
        inputs.erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER"),
        inputs.erp(ERP_ITEMS, item_row("CAP-1", "000000000024"), "ITEM_MASTER"),
        inputs.erp(ERP_ITEMS, item_row("SET-1", "000000000031", item_type="K"), "ITEM_MASTER"),
        inputs.erp(ERP_KITS, kit_row("SET-1", "TEE-1", 1), "KIT_COMPONENT"),
        inputs.erp(ERP_KITS, kit_row("SET-1", "CAP-1", 1), "KIT_COMPONENT"),
        inputs.erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-TEE-1", "TEE-1"), "CHANNEL_LISTING"),
        inputs.erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-SET-1", "SET-1"), "CHANNEL_LISTING"),
        inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL"),
        inputs.erp(ERP_STOCK, stock_bal_row("CAP-1", "DC0001", "4.000"), "STOCK_BAL"),
        inputs.pos(store_stock_row("ST0001", "000000000017", 5)),
        inputs.reservation("HOLD", reservation_id="c1", qty=1),
        inputs.reservation("HOLD", reservation_id="c2", qty=1, channel_sku="SH-SET-1"),
        inputs.reservation("CONFIRM", reservation_id="c3", qty=2),
        inputs.wish("WISH", channel_sku="SH-TEE-1"),
        inputs.wish("FORGET"),
    ]


REPORTS_ON_USED_INPUTS = (INCOMPLETE_TRANSACTION, OVERSIZED_TRANSACTION)  # the transaction was applied


def assert_every_input_counted_once(out: list, inputs: Inputs) -> None:
    """Per partition: inputs = used + dead-lettered, and the dead-lettered are those a dead letter names."""
    named: dict[str, set[int]] = {}
    for letter in letters(out):
        if letter.partition == inputs.partition and letter.reason not in REPORTS_ON_USED_INPUTS:
            named.setdefault(letter.source_topic, set()).add(letter.offset)
    for topic, count in inputs.offsets.items():
        used, dead = accounted(topic, inputs.partition)
        assert (used + dead, dead) == (count, len(named.get(topic, ()))), topic


# Each stateful step, with the logic that is its key: made to raise on every input it gets.
STEPS = [
    ("resolve_upc", steps.ResolveUpc),
    ("check_location", steps.CheckReference),
    ("explode_kits", steps.ExplodeKits),
    ("availability", steps.Availability),
    ("kits", steps.Kits),
    ("channel_locations", steps.ChannelLocations),
    ("channel_sums", steps.ChannelSumsLogic),
    ("listing", steps.ListingLogic),
    ("wish_customers", steps.WishCustomers),
]


@pytest.mark.parametrize(("step", "logic"), STEPS, ids=[name for name, _ in STEPS])
def test_every_stateful_steps_dead_letters_reach_the_publisher_and_the_ledger(monkeypatch, step, logic):
    partition = 20 + [name for name, _ in STEPS].index(step)
    original = logic.apply

    def apply(self, state, value, now_ms):  # type: ignore[no-untyped-def]
        if self.step == step:
            raise RuntimeError(f"{step} cannot take {type(value).__name__}")
        return original(self, state, value, now_ms)

    monkeypatch.setattr(logic, "apply", apply)
    inputs = Inputs(partition)
    out: list = []
    run_main(availability_flow(settings(), TestingSource(a_rich_scenario(inputs)), TestingSink(out)))

    failed = letters(out, ENGINE_ERROR)
    assert failed and all(letter.error.startswith(f"{step}: ") for letter in failed)
    assert_every_input_counted_once(out, inputs)


def test_a_timer_that_fails_is_dead_lettered_and_waits_for_the_keys_next_input(monkeypatch):
    def expire(self, state, now_ms):  # type: ignore[no-untyped-def]
        raise KeyError("no such hold")

    monkeypatch.setattr(steps.Availability, "expire", expire)
    inputs = Inputs(30)
    listed = [
        inputs.erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION"),
        inputs.erp(ERP_ITEMS, item_row("TEE-1"), "ITEM_MASTER"),
        inputs.erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-TEE-1", "TEE-1"), "CHANNEL_LISTING"),
        inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL"),
    ]
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)).isoformat()
    hold = inputs.reservation("HOLD", qty=3, expires_at=soon)
    after = inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "8.000"), "STOCK_BAL")
    schedule = [(0.0, m) for m in listed] + [(0.1, hold), (0.8, after)]
    out: list = []
    run_main(availability_flow(settings(), PacedSource(schedule, 0.3), TestingSink(out)), epoch_interval=EPOCH)

    [letter] = letters(out)  # once: the timer is not fired again and again at the same deadline
    assert letter.reason == ENGINE_ERROR and "timer" in letter.error and "KeyError" in letter.error
    assert letter.offset == -1  # a timer is no input: the ledger moves nothing
    shirt = [(r.on_hand, r.reserved, r.available) for r in out if isinstance(r, AvailabilityRecord)]
    # The hold stayed counted until the key's next input applied what was due (never over-promise).
    assert shirt == [(10, 0, 10), (10, 3, 7), (8, 0, 8)]
    assert accounted(RESERVATIONS, 30) == (1, 0)


def test_an_input_a_step_dead_letters_after_decoding_is_counted_dead_lettered_not_used():
    inputs = Inputs(31)
    messages = [
        inputs.erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION"),
        inputs.erp(ERP_ITEMS, item_row("TEE-1"), "ITEM_MASTER"),
        inputs.erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-TEE-1", "TEE-1"), "CHANNEL_LISTING"),
        inputs.erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL"),
        inputs.erp(ERP_STOCK, stock_bal_row("GHOST-1", "DC0001", "4.000"), "STOCK_BAL"),  # no item: unknown_sku
        inputs.reservation("HOLD", reservation_id="c1", qty=1),
        inputs.reservation("HOLD", reservation_id="c2", qty=1, location="XX9999"),  # unknown_location
        inputs.reservation("HOLD", reservation_id="c3", qty=1, channel_sku="SH-NONE"),  # unknown_channel_sku
        inputs.reservation("HOLD", reservation_id="c3", qty=1, channel_sku="SH-NONE"),  # the same, sent twice
    ]
    schedule = [(0.0, m) for m in messages]
    out: list = []
    run_main(availability_flow(settings(), PacedSource(schedule, 0.4), TestingSink(out)), epoch_interval=EPOCH)

    reasons = sorted((letter.source_topic, letter.offset, letter.reason) for letter in letters(out))
    assert reasons == [
        (ERP_STOCK, 1, "unknown_sku"),
        (RESERVATIONS, 1, "unknown_location"),
        (RESERVATIONS, 2, "unknown_channel_sku"),
        (RESERVATIONS, 3, "unknown_channel_sku"),
    ]
    assert accounted(RESERVATIONS, 31) == (1, 3)
    assert accounted(ERP_STOCK, 31) == (1, 1)
    assert_every_input_counted_once(out, inputs)


def test_the_ledger_moves_an_input_once_however_often_it_is_dead_lettered_later():
    ledger = InputLedger(RESERVATIONS, 0)
    for offset in range(4):
        ledger.record(offset, dead_lettered=offset == 1)
    assert ledger.correct(2) and not ledger.correct(2)  # a replay, a kit's reservation for each part: once
    assert not ledger.correct(1)  # dead-lettered when decoded already
    assert not ledger.correct(7)  # not counted yet: counted as dead-lettered when it comes
    assert ledger.record(7, dead_lettered=False)
    assert (ledger.used, ledger.dead_lettered, ledger.counted) == (2, 3, 5)


def test_the_ledger_remembers_a_bounded_number_of_dead_lettered_offsets():
    ledger = InputLedger(RESERVATIONS, 0)
    for offset in range(REMEMBERED_LETTERS + 50):
        ledger.record(offset, dead_lettered=True)
    assert len(ledger.letters) == REMEMBERED_LETTERS and min(ledger.letters) == 50
    assert ledger.counted == REMEMBERED_LETTERS + 50


def test_an_input_that_leaves_a_deadline_the_rules_cannot_compute_is_dead_lettered_like_one_that_raised(monkeypatch):
    original = steps.Availability.deadline_ms

    def deadline_ms(self, state):  # type: ignore[no-untyped-def]
        if any(location.on_hand == 99 for location in state.locations.values()):
            raise OverflowError("date value out of range")
        return original(self, state)

    monkeypatch.setattr(steps.Availability, "deadline_ms", deadline_ms)
    _, first, later = poisoned_stock(32)
    out: list = []
    run_main(availability_flow(settings(), TestingSource([*first, *later]), TestingSink(out)))

    [letter] = letters(out)
    assert (letter.reason, letter.source_topic, letter.offset) == (ENGINE_ERROR, ERP_STOCK, 2)
    assert "OverflowError" in letter.error
    bad, tee = last(out, "BAD-1@DC0001"), last(out, "TEE-1@DC0001")
    assert (bad.on_hand, bad.safety_stock, bad.available) == (10, 1, 9)
    assert (tee.on_hand, tee.available) == (7, 7)
    assert accounted(ERP_STOCK, 32) == (3, 1)


class FarOff(KeyedLogic[dict, int, int]):
    """A step whose deadline is whatever its input says."""

    STEP = "far_off"

    def create(self, key: str) -> dict:
        return {}

    def apply(self, state: dict, value: int, now_ms: int) -> list[int]:
        state["deadline"] = value
        return []

    def deadline_ms(self, state: dict) -> int | None:
        return state["deadline"]


@pytest.mark.parametrize(
    ("deadline", "armed_for"),
    [
        (10**18, dt.datetime(9999, 12, 31, 23, 59, 59, 998993, tzinfo=dt.UTC)),
        (-(10**15), dt.datetime(1970, 1, 1, tzinfo=dt.UTC)),
    ],
)
def test_a_deadline_beyond_what_a_datetime_says_is_armed_for_the_nearest_it_can(deadline, armed_for):
    logic = FarOff(None, lambda: 0)
    logic.on_batch([("k", deadline)])
    assert logic.notify_at() == armed_for
