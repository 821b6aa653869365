"""The whole engine in-process: reservations, expiry timers, kits and dead letters through the real dataflow.

A paced source keeps the flow alive after its last input, so a hold's deadline
fires with no further input, exactly as in production.
"""

from __future__ import annotations

import datetime as dt

from bytewax.testing import TestingSink, run_main

from atp.domain.channels import ChannelRecord
from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_KITS,
    ERP_LISTINGS,
    ERP_LOCATIONS,
    ERP_STOCK,
    POS_STOCK,
    RESERVATIONS,
    envelope,
    item_row,
    kit_row,
    listing_row,
    location_row,
    mariadb_source,
    message,
    postgres_source,
    reservation_value,
    stock_bal_row,
    store_stock_row,
)
from tests.paced_source import PacedSource

_offsets = iter(range(1, 10**6))

# Short epochs: records are published at each epoch's close, so inputs a few tens of ms apart are seen apart.
EPOCH = dt.timedelta(milliseconds=20)


def erp(topic: str, row: dict, table: str, op: str = "r"):
    offset = next(_offsets)
    return message(topic, envelope(op, None, row, mariadb_source(table, 10_000 + offset)), offset)


def reservation(op: str, **fields):
    return message(RESERVATIONS, reservation_value(op, **fields), next(_offsets))


def run(schedule, linger_s: float = 0.6, **settings) -> list:
    out: list = []
    config = settings_from_fields(low_stock_threshold=2, store_safety_stock=0, unresolved_wait_s=0, **settings)
    run_main(availability_flow(config, PacedSource(schedule, linger_s), TestingSink(out)), epoch_interval=EPOCH)
    return out


def availability(out, key: str) -> list[tuple[int, int, int, str]]:
    return [
        (r.reserved, r.committed, r.available, r.cause)
        for r in out
        if isinstance(r, AvailabilityRecord) and r.key == key
    ]


def a_shirt_listed_on_shopify(on_hand: str = "10.000"):
    return [
        erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION"),
        erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER"),
        erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-TEE-1", "TEE-1"), "CHANNEL_LISTING"),
        erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", on_hand), "STOCK_BAL"),
    ]


def in_a_moment(seconds: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat()


def test_a_cart_hold_is_released_at_its_deadline_with_no_further_input():
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule.append((0.2, reservation("HOLD", qty=3, expires_at=in_a_moment(1.0))))
    out = run(schedule, linger_s=1.5)
    assert availability(out, "TEE-1@DC0001") == [
        (0, 0, 10, "stock"),
        (3, 0, 7, "reservation"),
        (0, 0, 10, "expiry"),
    ]


class SteppedClock:
    """A clock the test moves forward: the engine's notion of now, independent of the wall clock."""

    def __init__(self) -> None:
        self.offset_ms = 0

    def __call__(self) -> int:
        return int(dt.datetime.now(dt.UTC).timestamp() * 1000) + self.offset_ms


def test_with_a_controlled_clock_a_long_hold_lapses_as_soon_as_the_clock_passes_its_deadline():
    clock = SteppedClock()
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30)
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule.append((0.1, reservation("HOLD", qty=2, expires_at=deadline.isoformat())))
    later = erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "9.000"), "STOCK_BAL", op="u")
    schedule.append((0.4, later))

    class JumpingSource(PacedSource):  # half an hour passes between the hold and the next stock change
        def build(self, step_id, worker_index, worker_count):
            partition = super().build(step_id, worker_index, worker_count)
            original = partition.next_batch

            def next_batch():
                batch = original()
                if any(m is later for m in batch):
                    clock.offset_ms = 31 * 60_000
                return batch

            partition.next_batch = next_batch
            return partition

    out: list = []
    config = settings_from_fields(low_stock_threshold=2, store_safety_stock=0)
    flow = availability_flow(config, JumpingSource(schedule, 0.3), TestingSink(out), clock=clock)
    run_main(flow, epoch_interval=EPOCH)
    records = [r for r in out if isinstance(r, AvailabilityRecord)]
    # The engine's clock passed the deadline with the stock change: the lapse and the change land in one
    # epoch, so they are published as one record, the state after both.
    assert [(r.reserved, r.on_hand, r.cause, r.version) for r in records] == [
        (0, 10, "stock", 1),
        (2, 10, "reservation", 2),
        (0, 9, "stock", 3),
    ]


def test_an_order_is_committed_and_a_duplicate_or_reordered_event_changes_nothing():
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule += [
        (0.1, reservation("CONFIRM", qty=3)),
        (0.1, reservation("HOLD", qty=3)),  # the hold arrives after its confirmation
        (0.1, reservation("CONFIRM", qty=3)),  # and the confirmation twice
    ]
    out = run(schedule)
    assert availability(out, "TEE-1@DC0001") == [(0, 0, 10, "stock"), (0, 3, 7, "reservation")]


def test_a_kit_drops_when_a_component_sells():
    schedule = [
        (0.0, erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER")),
        (0.0, erp(ERP_ITEMS, item_row("MUG-1", "000000000024"), "ITEM_MASTER")),
        (0.0, erp(ERP_ITEMS, item_row("GIFT-1", None, item_type="K"), "ITEM_MASTER")),
        (0.0, erp(ERP_KITS, kit_row("GIFT-1", "TEE-1", 1), "KIT_COMPONENT")),
        (0.0, erp(ERP_KITS, kit_row("GIFT-1", "MUG-1", 2), "KIT_COMPONENT")),
        (0.1, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "9.000"), "STOCK_BAL")),
        (0.1, erp(ERP_STOCK, stock_bal_row("MUG-1", "DC0001", "10.000"), "STOCK_BAL")),
        (0.3, erp(ERP_STOCK, stock_bal_row("MUG-1", "DC0001", "4.000"), "STOCK_BAL", op="u")),
    ]
    out = run(schedule)
    kit = [r.available for r in out if isinstance(r, AvailabilityRecord) and r.sku == "GIFT-1"]
    assert kit[-2:] == [5, 2]


def test_a_hold_on_a_kit_holds_its_components():
    schedule = [
        (0.0, erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION")),
        (0.0, erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER")),
        (0.0, erp(ERP_ITEMS, item_row("GIFT-1", None, item_type="K"), "ITEM_MASTER")),
        (0.0, erp(ERP_KITS, kit_row("GIFT-1", "TEE-1", 2), "KIT_COMPONENT")),
        (0.0, erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-GIFT-1", "GIFT-1"), "CHANNEL_LISTING")),
        (0.1, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL")),
        (0.3, reservation("HOLD", qty=2, channel_sku="SH-GIFT-1")),
    ]
    out = run(schedule)
    assert availability(out, "TEE-1@DC0001")[-1] == (4, 0, 6, "reservation")
    kit = [(r.reserved, r.available) for r in out if isinstance(r, AvailabilityRecord) and r.sku == "GIFT-1"]
    assert kit[-1] == (2, 3)


def test_reservations_naming_unknown_things_or_malformed_are_dead_lettered_and_the_flow_goes_on():
    in_two_hours = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule += [
        (0.1, reservation("HOLD", channel_sku="NOT-LISTED")),
        (0.1, reservation("HOLD", location="XX9999")),
        (0.1, reservation("HOLD", qty=1.5)),
        (0.1, reservation("HOLD", qty=-2)),
        (0.1, reservation("HOLD", expires_at=None)),
        (0.1, message(RESERVATIONS, b"{not json", next(_offsets))),
        # A cart hold of two hours: one expiring beyond ATP_MAX_HOLD_S (the builder's 2099) is dead-lettered too.
        (0.2, reservation("HOLD", qty=1, reservation_id="cart-ok", expires_at=in_two_hours)),
    ]
    out = run(schedule, linger_s=1.2)
    letters = sorted(d.reason for d in out if isinstance(d, DeadLetter))
    assert letters == [
        "hold_without_expiry",
        "invalid_quantity",
        "invalid_quantity",
        "unknown_channel_sku",
        "unknown_location",
        "unparsable_json",
    ]
    assert availability(out, "TEE-1@DC0001")[-1] == (1, 0, 9, "reservation")
    assert not any("cust-4711" in (d.payload + d.error) for d in out if isinstance(d, DeadLetter))


def test_crossing_into_low_and_out_of_stock_raises_alerts():
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify("3.000")]
    schedule += [
        (0.2, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "2.000"), "STOCK_BAL", op="u")),
        (0.3, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "0.000"), "STOCK_BAL", op="u")),
        (0.4, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "8.000"), "STOCK_BAL", op="u")),
    ]
    out = run(schedule)
    assert [a.kind for a in out if isinstance(a, AlertRecord)] == ["LOW_STOCK", "OUT_OF_STOCK", "BACK_IN_STOCK"]


# -- channels -----------------------------------------------------------------------------------


def shelf(store: str, upc: str, on_hand: int):
    offset = next(_offsets)
    row = store_stock_row(store, upc, on_hand)
    return message(POS_STOCK, envelope("u", None, row, postgres_source("store_stock", 50_000 + offset)), offset)


def test_store_stock_for_a_upc_the_erp_never_names_is_dead_lettered_after_the_unresolved_wait():
    schedule = [
        (0.0, erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER")),
        (0.1, shelf("ST0001", "999999999999", 4)),
    ]
    out = run(schedule, linger_s=0.6)
    [letter] = [d for d in out if isinstance(d, DeadLetter)]
    assert (letter.source_topic, letter.reason, letter.error) == (
        POS_STOCK,
        "unknown_upc",
        "UPC 999999999999 is not known to the ERP after 0s",
    )
    assert not [r for r in out if isinstance(r, AvailabilityRecord) and r.location == "ST0001"]


def channel_view(out, channel_sku: str) -> list[tuple[str, int, int]]:
    return [(r.sku, r.available, r.version) for r in out if isinstance(r, ChannelRecord) and r.key == channel_sku]


def test_a_ship_from_store_moves_the_online_channel_and_a_pos_only_store_does_not():
    upc = "000000000017"
    schedule = [
        (0.0, erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION")),
        (0.0, erp(ERP_LOCATIONS, location_row("ST0001", "S", "Y"), "LOCATION")),
        (0.0, erp(ERP_LOCATIONS, location_row("ST0002", "S", "N"), "LOCATION")),
        (0.0, erp(ERP_ITEMS, item_row("TEE-1", upc), "ITEM_MASTER")),
        (0.0, erp(ERP_LISTINGS, listing_row("SHOPIFY", "SH-TEE-1", "TEE-1"), "CHANNEL_LISTING")),
        (0.1, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL")),
        (0.2, shelf("ST0001", upc, 4)),
        (0.3, shelf("ST0002", upc, 9)),
    ]
    out = run(schedule)
    # Listed before any stock was seen: 0 first (honest, and never more than there is), then DC, then DC + ST0001.
    assert channel_view(out, "SH-TEE-1") == [("TEE-1", 0, 1), ("TEE-1", 10, 2), ("TEE-1", 14, 3)]


def test_a_remapped_listing_moves_to_its_new_item_live():
    schedule = [
        (0.0, erp(ERP_LOCATIONS, location_row("DC0001"), "LOCATION")),
        (0.0, erp(ERP_ITEMS, item_row("TEE-1", "000000000017"), "ITEM_MASTER")),
        (0.0, erp(ERP_ITEMS, item_row("TEE-2", "000000000024"), "ITEM_MASTER")),
        (0.0, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "10.000"), "STOCK_BAL")),
        (0.0, erp(ERP_STOCK, stock_bal_row("TEE-2", "DC0001", "3.000"), "STOCK_BAL")),
        (0.1, erp(ERP_LISTINGS, listing_row("EBAY", "EB-1", "TEE-1"), "CHANNEL_LISTING")),
        (
            0.3,
            erp_change(
                ERP_LISTINGS,
                listing_row("EBAY", "EB-1", "TEE-1"),
                listing_row("EBAY", "EB-1", "TEE-2"),
                "CHANNEL_LISTING",
            ),
        ),
        (0.5, erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "8.000"), "STOCK_BAL", op="u")),
    ]
    out = run(schedule)
    assert channel_view(out, "EB-1") == [("TEE-1", 10, 1), ("TEE-2", 3, 2)]


def erp_change(topic: str, before: dict, after: dict, table: str):
    offset = next(_offsets)
    return message(topic, envelope("u", before, after, mariadb_source(table, 10_000 + offset)), offset)
