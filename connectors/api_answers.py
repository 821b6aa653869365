"""The nearby-and-alternatives answer: the read model's figures through the rules of :mod:`atp.domain.nearby`."""

from __future__ import annotations

from atp.domain.nearby import nearest_with_stock, other_variants
from connectors.api_read_model import Answer, ReadModel


def nearby_answer(model: ReadModel, sku: str, location: str, limit: int) -> Answer | None:
    """For ``sku`` at store ``location``; None when the model knows neither the SKU nor the location.

    A known location without coordinates has no nearby stores; an item with no ``ITEM_MASTER`` row yet has
    no alternatives. Both lists are then empty, not an error: the figure at the store is still served.
    """
    here = model.at_location(sku, location)
    store = model.location(location)
    item = model.item(sku)
    if store is None or (item is None and here is None):
        return None
    nearby = []
    if store.place is not None:
        stores, stocked = model.stores_with_coordinates(), model.available_by_location(sku)
        for found in nearest_with_stock(store.place, stores, stocked, limit):
            record = model.at_location(sku, found.location)
            row = model.location(found.location)
            if record is None or row is None:  # changed since it was ranked: leave it out rather than guess
                continue
            nearby.append({
                "location": found.location, "name": row.name, "distance_km": found.distance_km,
                "available": record["available"], "version": record["version"], "source_ts_ms": record["source_ts_ms"],
            })  # fmt: skip
    alternatives = []
    if item is not None:
        style = model.style(item.style_no)
        for alternative in other_variants(item, style, model.available_at(location, [v.sku for v in style]), limit):
            record = model.at_location(alternative.variant.sku, location)
            if record is None:
                continue
            alternatives.append({
                "sku": alternative.variant.sku, "color_cd": alternative.variant.color_cd,
                "size_cd": alternative.variant.size_cd, "available": record["available"],
                "version": record["version"], "source_ts_ms": record["source_ts_ms"],
            })  # fmt: skip
    return {
        "sku": sku,
        "location": location,
        "available": here["available"] if here else 0,
        "version": here["version"] if here else None,
        "source_ts_ms": here["source_ts_ms"] if here else None,
        "nearby": nearby,
        "alternatives": alternatives,
    }
