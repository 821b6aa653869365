"""Nearby and alternatives (atp.domain.nearby): distance, ranking of stores, ranking of a style's variants."""

from __future__ import annotations

import math

import pytest

from atp.domain.nearby import (
    EARTH_RADIUS_KM,
    Alternative,
    NearbyStore,
    Place,
    Variant,
    haversine_km,
    nearest_with_stock,
    other_variants,
)

PARIS = Place("ST0001", 48.8566, 2.3522)
VERSAILLES = Place("ST0002", 48.8049, 2.1204)
LYON = Place("ST0003", 45.7640, 4.8357)
MARSEILLE = Place("ST0004", 43.2965, 5.3698)
LONDON = Place("ST0005", 51.5074, -0.1278)


def test_the_distance_between_paris_and_london_is_the_known_great_circle_distance() -> None:
    assert haversine_km(PARIS, LONDON) == pytest.approx(343.5, abs=0.5)
    assert haversine_km(LONDON, PARIS) == haversine_km(PARIS, LONDON)


def test_a_place_is_at_no_distance_from_itself_and_antipodes_are_half_the_circumference_apart() -> None:
    assert haversine_km(PARIS, PARIS) == 0.0
    north, south = Place("N", 90.0, 0.0), Place("S", -90.0, 0.0)
    assert haversine_km(north, south) == pytest.approx(math.pi * EARTH_RADIUS_KM)


def test_the_nearest_stores_with_stock_come_closest_first_without_the_store_asked_about() -> None:
    stores = [MARSEILLE, LYON, PARIS, VERSAILLES]
    available = {"ST0001": 9, "ST0002": 4, "ST0003": 1, "ST0004": 7}
    found = nearest_with_stock(PARIS, stores, available, limit=5)
    assert [store.location for store in found] == ["ST0002", "ST0003", "ST0004"]
    assert found[0] == NearbyStore("ST0002", round(haversine_km(PARIS, VERSAILLES), 3), 4)


def test_a_store_with_nothing_available_or_no_record_is_not_offered() -> None:
    found = nearest_with_stock(PARIS, [VERSAILLES, LYON, MARSEILLE], {"ST0002": 0, "ST0004": 2}, limit=5)
    assert [store.location for store in found] == ["ST0004"]


def test_the_limit_keeps_the_closest_and_equal_distances_rank_by_location_code() -> None:
    twin_b, twin_a = Place("ST0009", 48.8049, 2.1204), Place("ST0008", 48.8049, 2.1204)
    found = nearest_with_stock(PARIS, [LYON, twin_b, twin_a], {"ST0008": 1, "ST0009": 1, "ST0003": 1}, limit=2)
    assert [store.location for store in found] == ["ST0008", "ST0009"]


TEE_BLK_M = Variant("TEE-1001-BLK-M", "TEE-1001", "BLK", "M")
TEE_BLK_L = Variant("TEE-1001-BLK-L", "TEE-1001", "BLK", "L")
TEE_BLK_S = Variant("TEE-1001-BLK-S", "TEE-1001", "BLK", "S")
TEE_WHT_M = Variant("TEE-1001-WHT-M", "TEE-1001", "WHT", "M")
TEE_WHT_L = Variant("TEE-1001-WHT-L", "TEE-1001", "WHT", "L")
STYLE = [TEE_BLK_M, TEE_BLK_L, TEE_BLK_S, TEE_WHT_M, TEE_WHT_L]


def test_alternatives_are_same_colour_first_then_same_size_then_the_rest_of_the_style() -> None:
    at_store = {"TEE-1001-BLK-M": 0, "TEE-1001-WHT-L": 8, "TEE-1001-WHT-M": 2, "TEE-1001-BLK-L": 1, "TEE-1001-BLK-S": 5}
    assert other_variants(TEE_BLK_M, STYLE, at_store, limit=10) == [
        Alternative(TEE_BLK_S, 5),  # same colour, more available first
        Alternative(TEE_BLK_L, 1),
        Alternative(TEE_WHT_M, 2),  # same size
        Alternative(TEE_WHT_L, 8),
    ]


def test_alternatives_leave_out_the_item_itself_what_the_store_cannot_promise_and_other_styles() -> None:
    other_style = Variant("TEE-2002-BLK-L", "TEE-2002", "BLK", "L")
    at_store = {"TEE-1001-BLK-M": 3, "TEE-1001-BLK-L": 0, "TEE-2002-BLK-L": 4, "TEE-1001-WHT-M": 1}
    assert other_variants(TEE_BLK_M, [*STYLE, other_style], at_store, limit=10) == [Alternative(TEE_WHT_M, 1)]


def test_an_item_without_colour_or_size_ranks_its_style_by_availability_then_sku() -> None:
    plain = Variant("MUG-1", "MUG", None, None)
    others = [Variant("MUG-2", "MUG", None, None), Variant("MUG-3", "MUG", None, None)]
    assert other_variants(plain, [plain, *others], {"MUG-2": 1, "MUG-3": 1}, limit=1) == [Alternative(others[0], 1)]
