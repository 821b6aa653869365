"""What a SKU at a location last published, and the records built from it.

A location keeps its last published figures (and, while an epoch is open, the figures the
epoch began from) to publish only a change, and to tell an alert's crossing. It keeps them as
a plain tuple (:data:`KeptFigures`): the location is pickled at every epoch it changed in, and a
:class:`typing.NamedTuple` pickles through a Python-level ``__reduce__`` at several times a
tuple's cost (atp.domain.compact). Callers read them by name as :class:`PublishedAvailability`,
which compares equal to its plain tuple.
"""

from __future__ import annotations

from typing import NamedTuple, cast

from atp.domain.events import Provenance
from atp.domain.kits import ComponentSupply
from atp.domain.records import AvailabilityRecord
from atp.domain.rules import day_to_date


class PublishedAvailability(NamedTuple):
    """A location's figures as published (or as they would be published now)."""

    on_hand: int
    unsellable: int
    reserved: int
    committed: int
    safety_stock: int
    available: int
    incoming: int
    next_inbound_day: int | None  # days since 1970-01-01; None: nothing on order
    status: str


# PublishedAvailability's fields in order, as a location keeps them.
KeptFigures = tuple[int, int, int, int, int, int, int, int | None, str]


def kept_figures(figures: PublishedAvailability) -> KeptFigures:
    """The figures as a location keeps them: a plain tuple, equal to ``figures``."""
    return cast(KeptFigures, tuple(figures))


def published_figures(kept: KeptFigures) -> PublishedAvailability:
    """The figures a location kept, by name."""
    return PublishedAvailability._make(kept)


def availability_record(
    sku: str,
    location: str,
    figures: PublishedAvailability,
    version: int,
    provenance: Provenance,
    cause: str,
    now_ms: int,
) -> AvailabilityRecord:
    """The ``atp.availability`` record of ``figures``, stamped with the input that caused it."""
    return AvailabilityRecord(
        sku=sku,
        location=location,
        on_hand=figures.on_hand,
        unsellable=figures.unsellable,
        reserved=figures.reserved,
        committed=figures.committed,
        safety_stock=figures.safety_stock,
        available=figures.available,
        incoming=figures.incoming,
        next_inbound_date=day_to_date(figures.next_inbound_day),
        status=figures.status,
        version=version,
        source_ts_ms=provenance.source_ts_ms,
        computed_ts_ms=now_ms,
        cause=cause,
        cause_ref=provenance.cause_ref,
    )


def component_supply(
    kit_sku: str, component_sku: str, location: str, figures: PublishedAvailability, provenance: Provenance, cause: str
) -> ComponentSupply:
    """What a kit needs of one of its components' figures at a location (:mod:`atp.domain.kits`)."""
    return ComponentSupply(
        kit_sku=kit_sku,
        component_sku=component_sku,
        location=location,
        available=figures.available,
        on_hand=figures.on_hand,
        incoming=figures.incoming,
        next_inbound_day=figures.next_inbound_day,
        provenance=provenance,
        cause=cause,
    )
