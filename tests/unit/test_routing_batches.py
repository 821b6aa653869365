"""The routes, asked once per batch, send each value where they send it one at a time."""

from __future__ import annotations

from flows import routing as to
from tests.engine_inputs import reservation, stock


def test_a_route_over_a_batch_names_what_it_names_value_by_value_in_order():
    batch = [stock(5, 100), reservation("HOLD"), "not an event", stock(7, 101, location="DC0002"), None]
    for route in (to.EVENTS_TO_SKUS, to.EVENTS_TO_LOCATIONS, to.EVENTS_TO_LISTINGS, to.EVENTS_TO_UPCS):
        assert route.batch(batch) == [keyed for value in batch for keyed in route(value)]
