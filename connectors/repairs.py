"""Reconciliation repairs on ``atp.reconcile``: written by ``atp reconcile --repair``, read by the dataflow.

One JSON message per SKU and location (key ``<sku>@<location>``): the stock row as the
system of record holds it, and the version of the record the drift was found against.
The dataflow is the only writer of availability, so a repair is an input like any other:
it is versioned, recovered and replayed with the rest, and a re-sent repair changes nothing.
"""

from __future__ import annotations

from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atp.domain.events import DC, STORE, Provenance, StockCorrected
from atp.domain.inputs import Decoded
from atp.errors import InputError
from connectors.cdc.decode import dead_letter_for
from connectors.json_input import parse_json

_UNITS = Field(ge=0, le=10**12)


class RepairLot(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")

    lot: str = Field(min_length=1, max_length=20)
    qty: int = _UNITS
    expiry_day: int | None = None


class RepairMessage(BaseModel):
    """The wire shape of one repair."""

    model_config = ConfigDict(strict=True, extra="ignore")

    run_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=24)
    location: str = Field(min_length=1, max_length=6)
    location_type: Literal["D", "S"]
    on_hand: int = _UNITS
    quality_hold: int = _UNITS
    lots: list[RepairLot] = Field(default_factory=list)
    observed_version: int = Field(ge=0)
    read_at_ms: int = Field(ge=0)
    fields: list[str] = Field(default_factory=list)


def encode_repair(message: RepairMessage) -> tuple[bytes, bytes]:
    """(key, value) of a repair message."""
    return f"{message.sku}@{message.location}".encode(), orjson.dumps(message.model_dump())


def decode_repair(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Decoded:
    """The stock correction in one repair message, or why it cannot be used."""
    try:
        doc = parse_json(value or b"")
        message = RepairMessage.model_validate(doc)
    except InputError as exc:
        return Decoded([], dead_letter_for(topic, partition, offset, value, exc, now_ms))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "?"
        error = InputError("invalid_repair", f"{where}: {first['msg']}")
        return Decoded([], dead_letter_for(topic, partition, offset, value, error, now_ms))
    ref = f"{topic}[{partition}]@{offset} reconcile run {message.run_id}: {', '.join(message.fields) or 'stock'}"
    return Decoded(
        [
            StockCorrected(
                sku=message.sku,
                location=message.location,
                location_type=DC if message.location_type == "D" else STORE,
                on_hand=message.on_hand,
                quality_hold=message.quality_hold,
                lots=tuple((lot.lot, lot.qty, lot.expiry_day) for lot in message.lots),
                observed_version=message.observed_version,
                provenance=Provenance(message.read_at_ms, ref, topic, partition, offset),
            )
        ]
    )
