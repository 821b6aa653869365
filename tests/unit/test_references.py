"""A reservation passes once its location and channel SKU are known; else it waits, then is dead-lettered."""

from __future__ import annotations

from atp.domain.events import ListingChanged, LocationChanged, Provenance
from atp.domain.references import UNKNOWN_CHANNEL_SKU, Reference
from atp.domain.reservations import HOLD
from tests.engine_inputs import NOW, reservation

WAIT = 60_000


def listing(sku: str, position: int, deleted: bool = False, active: bool = True) -> ListingChanged:
    return ListingChanged("SHOPIFY", "SH-TEE-1", sku, active, deleted, (2, position, 0), Provenance(1, "listing"))


def location(position: int, deleted: bool = False) -> LocationChanged:
    return LocationChanged("DC0001", "D", True, deleted, (2, position, 0), Provenance(1, "location"))


def unresolved():
    return reservation(HOLD, expires=NOW + WAIT, sku="")


def test_a_listed_channel_sku_resolves_to_its_item():
    ref = Reference("SHOPIFY/SH-TEE-1", names_sku=True)
    ref.learn(listing("TEE-1", 10))
    [resolved] = ref.check(unresolved(), NOW)
    assert resolved.sku == "TEE-1"


def test_a_reservation_waits_for_a_listing_that_arrives_later():
    ref = Reference("SHOPIFY/SH-TEE-1", names_sku=True)
    assert ref.check(unresolved(), NOW) == [] and ref.deadline_ms(WAIT) == NOW + WAIT
    [released] = ref.learn(listing("TEE-1", 10))
    assert released.sku == "TEE-1" and ref.deadline_ms(WAIT) is None


def test_an_unknown_channel_sku_is_dead_lettered_after_the_wait_without_personal_data():
    ref = Reference("SHOPIFY/SH-TEE-1", names_sku=True)
    ref.check(unresolved(), NOW)
    assert ref.give_up(NOW + WAIT - 1, WAIT, UNKNOWN_CHANNEL_SKU) == []
    [letter] = ref.give_up(NOW + WAIT, WAIT, UNKNOWN_CHANNEL_SKU)
    assert letter.reason == "unknown_channel_sku" and letter.source_topic == "orders.reservations"
    assert "customer" not in letter.payload and '"event_id":"r1-HOLD"' in letter.payload


def test_an_inactive_listing_still_resolves_because_the_units_are_held_anyway():
    ref = Reference("SHOPIFY/SH-TEE-1", names_sku=True)
    ref.learn(listing("TEE-1", 10, active=False))
    assert ref.check(unresolved(), NOW)[0].sku == "TEE-1"


def test_a_known_location_passes_reservations_unchanged_and_a_deleted_one_makes_them_wait():
    ref = Reference("DC0001")
    ref.learn(location(10))
    event = unresolved()
    assert ref.check(event, NOW) == [event]
    ref.learn(location(11, deleted=True))
    assert ref.check(event, NOW) == [] and ref.learn(location(9)) == []
