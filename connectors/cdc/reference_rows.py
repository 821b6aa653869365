"""ERP reference rows (``LOCATION``, ``ITEM_MASTER``) for the readers beside the dataflow: the lookup API's read
model (coordinates and styles for nearby and alternatives) and the store's reference tables.

The dataflow decodes the same topics into domain events (:mod:`connectors.cdc.erp`), but those carry no
coordinates and no style: nothing it computes needs them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from atp.domain.nearby import Place, Variant
from atp.errors import CdcDecodeError
from connectors.api_read_model import LocationRow
from connectors.cdc.decode import ERP_TOPIC_PREFIX
from connectors.cdc.envelope import parse_envelope
from connectors.cdc.values import code, optional_code

LOCATIONS_TOPIC = ERP_TOPIC_PREFIX + "LOCATION"
ITEMS_TOPIC = ERP_TOPIC_PREFIX + "ITEM_MASTER"

def coordinate(row: dict[str, Any], column: str, limit: float) -> float | None:
    """A ``DECIMAL(9,6)`` degree (a string, ``decimal.handling.mode=string``), or None when null.

    A value that is not a number, or beyond ``limit`` degrees, is refused: a wrong coordinate would
    send a shopper to the wrong store.
    """
    value = row.get(column)
    if value is None:
        return None
    try:
        degrees = float(Decimal(str(value)))
    except (InvalidOperation, ValueError) as exc:
        raise CdcDecodeError("wrong_type", f"column {column} is not a number: {value!r}") from exc
    if not -limit <= degrees <= limit:
        raise CdcDecodeError("out_of_range", f"column {column} is {degrees}, beyond ±{limit}")
    return degrees


def location_change(value: bytes | None) -> tuple[LocationRow, bool] | None:
    """An ERP ``LOCATION`` change as (row, deleted); None for a tombstone."""
    change = parse_envelope(value)
    if change is None:
        return None
    row = change.row
    location = code(row, "LOC_CD")
    latitude, longitude = coordinate(row, "LATITUDE", 90.0), coordinate(row, "LONGITUDE", 180.0)
    place = None if latitude is None or longitude is None else Place(location, latitude, longitude)
    name = optional_code(row, "LOC_NAME") or location
    return LocationRow(location, code(row, "LOC_TYPE"), name, place), change.is_delete


def item_change(value: bytes | None) -> tuple[Variant, bool] | None:
    """An ERP ``ITEM_MASTER`` change as (variant, deleted); None for a tombstone."""
    change = parse_envelope(value)
    if change is None:
        return None
    row = change.row
    variant = Variant(
        code(row, "ITEM_NO"), code(row, "STYLE_NO"), optional_code(row, "COLOR_CD"), optional_code(row, "SIZE_CD")
    )
    return variant, change.is_delete


def store_row(topic: str, value: bytes | None, offset: int) -> dict[str, Any] | None:
    """The store's row (``atp.erp_location`` or ``atp.erp_item``) for a change on ``topic``; None for a tombstone.

    ``version`` is the change's offset: the change topics are keyed by the row's primary key, so all of a
    row's changes are in one partition, in order, and a later change always has a higher offset.
    """
    if topic == LOCATIONS_TOPIC:
        location = location_change(value)
        if location is None:
            return None
        row, deleted = location
        return {
            "loc_cd": row.location, "loc_type": row.loc_type, "loc_name": row.name,
            "latitude": row.place.latitude if row.place else None,
            "longitude": row.place.longitude if row.place else None,
            "deleted": int(deleted), "version": offset,
        }  # fmt: skip
    item = item_change(value)
    if item is None:
        return None
    variant, deleted = item
    return {
        "sku": variant.sku, "style_no": variant.style_no, "color_cd": variant.color_cd, "size_cd": variant.size_cd,
        "deleted": int(deleted), "version": offset,
    }  # fmt: skip
