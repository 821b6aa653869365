"""The routes, asked once per batch, send each value where they send it one at a time."""

from __future__ import annotations

from flows import routing as to
from tests.engine_inputs import reservation, stock


def test_a_route_over_a_batch_names_what_it_names_value_by_value_in_order():
    batch = [stock(5, 100), reservation("HOLD"), "not an event", stock(7, 101, location="DC0002"), None]
    for route in (to.EVENTS_TO_SKUS, to.EVENTS_TO_LOCATIONS, to.EVENTS_TO_LISTINGS, to.EVENTS_TO_UPCS):
        assert route.batch(batch) == [keyed for value in batch for keyed in route(value)]


def test_the_listing_hears_a_wish_only_from_its_customers_key_never_from_the_raw_events():
    from atp.domain.back_in_stock import WISH
    from tests.unit.test_back_in_stock import wish

    event = wish(WISH)
    assert to.to_listing(frozenset({"SHOPIFY"})).batch([event]) == []  # the route of the raw events
    assert to.CUSTOMERS_WISHES_TO_LISTING.batch([event]) == [("SHOPIFY/SH-TEE-1", ("SHOPIFY/SH-TEE-1", event))]
