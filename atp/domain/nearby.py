"""Nearby and alternatives: what a shopper is offered when a SKU is out at their store.

Two answers, both pure functions of plain data:

- **nearby**: the closest other stores that can promise the SKU (``available > 0``), by great-circle
  distance between the ERP ``LOCATION`` rows' ``LATITUDE``/``LONGITUDE``;
- **alternatives**: the other variants of the same style (ERP ``ITEM_MASTER.STYLE_NO``) the store itself
  can promise, the closest variants first: same colour in another size, then same size in another colour,
  then the rest.

A store without coordinates cannot be ranked by distance, so it is never offered as nearby (and a store
without them gets no nearby answer); an item without a style has no alternatives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Mean Earth radius (IUGG), the usual constant for the haversine formula.
EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Place:
    """A location with coordinates (decimal degrees, WGS 84)."""

    location: str
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class Variant:
    """One item of a style: the ERP ``ITEM_MASTER`` columns that tell variants apart."""

    sku: str
    style_no: str
    color_cd: str | None
    size_cd: str | None


@dataclass(frozen=True, slots=True)
class NearbyStore:
    location: str
    distance_km: float
    available: int


@dataclass(frozen=True, slots=True)
class Alternative:
    variant: Variant
    available: int


def haversine_km(from_place: Place, to_place: Place) -> float:
    """Great-circle distance in km between two places."""
    lat1, lat2 = math.radians(from_place.latitude), math.radians(to_place.latitude)
    half_dlat = (lat2 - lat1) / 2
    half_dlon = math.radians(to_place.longitude - from_place.longitude) / 2
    h = math.sin(half_dlat) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(half_dlon) ** 2
    # min(): rounding can push h a hair above 1 for antipodal points, and asin would then fail.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_with_stock(
    origin: Place, stores: Iterable[Place], available_at: Mapping[str, int], limit: int
) -> list[NearbyStore]:
    """The ``limit`` stores closest to ``origin`` (itself excluded) where ``available_at`` is above 0.

    Ties in distance are broken by location code, so the answer is the same on every call.
    """
    ranked = sorted(
        (haversine_km(origin, store), store.location, available_at[store.location])
        for store in stores
        if store.location != origin.location and available_at.get(store.location, 0) > 0
    )
    return [NearbyStore(location, round(distance, 3), available) for distance, location, available in ranked[:limit]]


def _closeness(item: Variant, other: Variant) -> int:
    """0: same colour (another size); 1: same size (another colour); 2: anything else of the style."""
    if item.color_cd is not None and other.color_cd == item.color_cd:
        return 0
    if item.size_cd is not None and other.size_cd == item.size_cd:
        return 1
    return 2


def other_variants(
    item: Variant, style: Iterable[Variant], available_at_store: Mapping[str, int], limit: int
) -> list[Alternative]:
    """The variants of ``item``'s style, other than ``item``, that the store can promise, closest first.

    Within the same closeness, more available first (the likelier to still be there), then by SKU.
    """
    ranked = sorted(
        (_closeness(item, other), -available_at_store[other.sku], other.sku, other)
        for other in style
        if other.sku != item.sku and other.style_no == item.style_no and available_at_store.get(other.sku, 0) > 0
    )
    return [Alternative(other, -negative) for _, negative, _, other in ranked[:limit]]
