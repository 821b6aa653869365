"""The ERP's and POS's other tables, decoded: lots, purchase orders, safety stock, kits, listings, locations, sales."""

from __future__ import annotations

from atp.domain.events import (
    InboundChanged,
    KitComponentChanged,
    ListingChanged,
    LocationChanged,
    LotChanged,
    SafetyStockChanged,
    SaleLineChanged,
    SaleTicketChanged,
)
from connectors.cdc.decode import decode_change
from tests.debezium_events import (
    ERP_KITS,
    ERP_LISTINGS,
    ERP_LOCATIONS,
    ERP_LOTS,
    ERP_POS,
    ERP_SAFETY,
    envelope,
    kit_row,
    listing_row,
    location_row,
    lot_row,
    mariadb_source,
    po_row,
    postgres_source,
    safety_row,
)

NOW = 1_800_000_000_000


def erp(topic: str, table: str, op: str, before: dict | None, after: dict | None):
    return decode_change(topic, 0, 5, envelope(op, before, after, mariadb_source(table, 900)), NOW)


def test_a_lot_carries_its_units_and_expiry_day_and_a_deleted_lot_has_none():
    [lot] = erp(ERP_LOTS, "STOCK_LOT", "c", None, lot_row("SERUM-1", "DC0001", "L7", "12.000", 20_500)).events
    assert isinstance(lot, LotChanged) and (lot.lot, lot.qty, lot.expiry_day) == ("L7", 12, 20_500)
    [gone] = erp(ERP_LOTS, "STOCK_LOT", "d", lot_row("SERUM-1", "DC0001", "L7", "12.000", 20_500), None).events
    assert isinstance(gone, LotChanged) and gone.qty == 0


def test_an_open_po_line_is_supply_not_yet_received_and_a_closed_one_is_none():
    [line] = erp(ERP_POS, "PO_LINE", "c", None, po_row("PO1", 2, "TEE-1", "DC0001", "48.000", "12.000", 20_600)).events
    assert isinstance(line, InboundChanged) and (line.line, line.open_qty, line.due_day) == ("PO1/2", 36, 20_600)
    closed = po_row("PO1", 2, "TEE-1", "DC0001", "48.000", "48.000", 20_600, status="C")
    [done] = erp(ERP_POS, "PO_LINE", "u", None, closed).events
    assert isinstance(done, InboundChanged) and done.open_qty == 0


def test_a_po_line_moved_to_another_item_takes_its_supply_away_from_the_old_one():
    before = po_row("PO1", 2, "TEE-1", "DC0001", "48.000", "0.000", 20_600)
    after = po_row("PO1", 2, "TEE-2", "DC0001", "48.000", "0.000", 20_600)
    old, new = erp(ERP_POS, "PO_LINE", "u", before, after).events
    assert isinstance(old, InboundChanged) and (old.sku, old.open_qty) == ("TEE-1", 0)
    assert isinstance(new, InboundChanged) and (new.sku, new.open_qty) == ("TEE-2", 48)


def test_a_po_line_with_an_unknown_status_is_dead_lettered():
    decoded = erp(ERP_POS, "PO_LINE", "c", None, po_row("PO1", 2, "TEE-1", "DC0001", "1.000", "0.000", 1, "Z"))
    assert decoded.events == [] and decoded.dead_letter is not None and decoded.dead_letter.reason == "unknown_code"


def test_safety_stock_for_every_location_and_its_deletion():
    [ss] = erp(ERP_SAFETY, "SAFETY_STK", "c", None, safety_row("TEE-1", "*", 4)).events
    assert ss == SafetyStockChanged("TEE-1", "*", 4, ss.position, ss.provenance)
    [gone] = erp(ERP_SAFETY, "SAFETY_STK", "d", safety_row("TEE-1", "*", 4), None).events
    assert isinstance(gone, SafetyStockChanged) and gone.units is None


def test_negative_safety_stock_is_dead_lettered():
    decoded = erp(ERP_SAFETY, "SAFETY_STK", "c", None, safety_row("TEE-1", "DC0001", -3))
    assert decoded.dead_letter is not None and decoded.dead_letter.reason == "negative_quantity"


def test_kit_components_and_what_cannot_be_a_kit():
    [part] = erp(ERP_KITS, "KIT_COMPONENT", "c", None, kit_row("GIFT-1", "TEE-1", 2)).events
    assert part == KitComponentChanged("GIFT-1", "TEE-1", 2, part.position, part.provenance)
    zero = erp(ERP_KITS, "KIT_COMPONENT", "c", None, kit_row("GIFT-1", "TEE-1", 0)).dead_letter
    itself = erp(ERP_KITS, "KIT_COMPONENT", "c", None, kit_row("GIFT-1", "GIFT-1", 1)).dead_letter
    assert zero is not None and zero.reason == "invalid_kit_quantity"
    assert itself is not None and itself.reason == "invalid_kit"


def test_listings_and_locations_are_trimmed_codes():
    [listing] = erp(ERP_LISTINGS, "CHANNEL_LISTING", "c", None, listing_row("AMAZON", "B00X", "TEE-1", "N")).events
    assert isinstance(listing, ListingChanged) and (listing.sku, listing.active) == ("TEE-1", False)
    [location] = erp(ERP_LOCATIONS, "LOCATION", "r", None, location_row("ST42", "S", "N")).events
    assert isinstance(location, LocationChanged) and (location.location, location.ship_from) == ("ST42", False)


def test_sale_tickets_never_carry_personal_data_and_sale_lines_keep_their_sign():
    ticket = {"ticket_id": 77, "store_id": "ST0001", "opened_at": "2026-11-22T10:00:00Z", "status": "PAID",
              "customer_email": "a@b.example", "loyalty_id": "L-1"}  # fmt: skip
    value = envelope("c", None, ticket, postgres_source("sale_ticket", 40))
    [decoded] = decode_change("pos.public.sale_ticket", 0, 1, value, NOW).events
    assert isinstance(decoded, SaleTicketChanged) and (decoded.store, decoded.status) == ("ST0001", "PAID")
    assert "a@b.example" not in repr(decoded) and "L-1" not in repr(decoded)
    line = {"ticket_id": 77, "line_no": 1, "upc": "000000000017", "qty": -1, "unit_price": "19.90"}
    [returned] = decode_change(
        "pos.public.sale_line", 0, 2, envelope("c", None, line, postgres_source("sale_line", 41)), NOW
    ).events
    assert isinstance(returned, SaleLineChanged) and returned.qty == -1
