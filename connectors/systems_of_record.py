"""A fresh read of the systems of record, for reconciliation: ERP and POS tables, and the reservation log.

Read with the CDC users (they may read, never write), each database in one consistent
snapshot, and decoded by the same rules as the CDC decoders: codes trimmed, quantities in
whole units, a row with a bad quantity counts as no stock (the engine zeroes it too).
The reservation log is read from its start to its end as of now, with a consumer that
commits nothing, so it disturbs no one's offsets.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from operator import attrgetter
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from atp.domain.events import DC, STORE, ReservationReceived
from atp.domain.reconcile import Key, Lot, ReservationLogEvent, SourceRead, StockRow
from atp.domain.reservations import ReservationEvent
from atp.errors import ServiceError
from atp.settings import EngineSettings, KafkaSettings, LocalStackSettings
from connectors import topics
from connectors.kafka_config import client_config
from connectors.legacy_db import erp_connection, pos_connection
from connectors.reservations import decode_reservation

_EPOCH = dt.date(1970, 1, 1)
READ_LOG_TIMEOUT_S = 120


class ErpRead(NamedTuple):
    """The ERP tables, read in one consistent snapshot."""

    items: dict[str, tuple[str, bool]]
    upcs: dict[str, str]  # UPC -> SKU, for the POS's store stock
    stock: dict[Key, StockRow]
    incoming: dict[Key, int]
    safety: dict[Key, int]
    kits: dict[str, dict[str, int]]
    listings: dict[tuple[str, str], str]  # (channel, channel SKU) -> SKU
    location_types: dict[str, str]


def read_systems_of_record(stack: LocalStackSettings, kafka: KafkaSettings, engine: EngineSettings) -> SourceRead:
    erp = _read_erp(stack, engine.timezone)
    return SourceRead(
        items=erp.items,
        location_types=erp.location_types,
        stock=erp.stock | _read_pos_stock(stack, erp.upcs),
        incoming=erp.incoming,
        planner_safety_stock=erp.safety,
        kit_components=erp.kits,
        reservations=tuple(_read_reservation_log(kafka, erp.listings, erp.location_types)),
    )


def _units(value: Any) -> int | None:
    """Whole, non-negative units, or None for a value the CDC decoders would refuse."""
    number = Decimal(value)
    if number != number.to_integral_value() or number < 0:
        return None
    return int(number)


def _epoch_ms(moment: dt.datetime, zone: str) -> int:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))
    return int(aware.timestamp() * 1000)


def _read_erp(stack: LocalStackSettings, timezone: str) -> ErpRead:
    with erp_connection(stack, role="cdc") as erp, erp.cursor() as cur:
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        cur.execute("SELECT TRIM(ITEM_NO), ITEM_TYPE, STATUS_FLG, TRIM(UPC) FROM ITEM_MASTER")
        items, upcs = {}, {}
        for sku, item_type, status, upc in cur.fetchall():
            items[sku] = (item_type, status == "D")
            if upc:
                upcs[upc] = sku
        cur.execute("SELECT TRIM(ITEM_NO), TRIM(LOC_CD), TRIM(LOT_NO), QTY, EXPIRY_DT FROM STOCK_LOT")
        lots: dict[Key, list[Lot]] = defaultdict(list)
        for sku, location, lot, qty, expiry in cur.fetchall():
            expiry_day = None if expiry is None else (expiry - _EPOCH).days
            lots[(sku, location)].append(Lot(lot, _units(qty) or 0, expiry_day))
        cur.execute("SELECT TRIM(ITEM_NO), TRIM(LOC_CD), QTY_OH, QTY_HOLD, UPD_TS FROM STOCK_BAL")
        stock = {}
        for sku, location, on_hand, hold, updated in cur.fetchall():
            units = _units(on_hand) or 0
            held = min(_units(hold) or 0, units)
            changed = _epoch_ms(updated, timezone)
            lots_here = tuple(sorted(lots[(sku, location)], key=attrgetter("lot")))
            stock[(sku, location)] = StockRow(DC, units, held, changed, lots_here)
        cur.execute(
            "SELECT TRIM(ITEM_NO), TRIM(LOC_CD), SUM(GREATEST(QTY_ORD - QTY_RCV, 0)) FROM PO_LINE "
            "WHERE STATUS = 'O' GROUP BY 1, 2"
        )
        incoming = {(sku, location): _units(qty) or 0 for sku, location, qty in cur.fetchall()}
        cur.execute("SELECT TRIM(ITEM_NO), TRIM(LOC_CD), SS_QTY FROM SAFETY_STK")
        safety = {(sku, location): max(0, int(units)) for sku, location, units in cur.fetchall()}
        cur.execute("SELECT TRIM(KIT_ITEM_NO), TRIM(COMP_ITEM_NO), COMP_QTY FROM KIT_COMPONENT")
        kits: dict[str, dict[str, int]] = defaultdict(dict)
        for kit, component, per_kit in cur.fetchall():
            kits[kit][component] = int(per_kit)
        cur.execute("SELECT TRIM(CHANNEL_CD), TRIM(CHANNEL_SKU), TRIM(ITEM_NO) FROM CHANNEL_LISTING")
        listings = {(channel, channel_sku): sku for channel, channel_sku, sku in cur.fetchall()}
        cur.execute("SELECT TRIM(LOC_CD), LOC_TYPE FROM LOCATION")
        location_types = {location: DC if kind == "D" else STORE for location, kind in cur.fetchall()}
        cur.execute("COMMIT")
    return ErpRead(items, upcs, stock, incoming, safety, dict(kits), listings, location_types)


def _read_pos_stock(stack: LocalStackSettings, upcs: dict[str, str]) -> dict[Key, StockRow]:
    """Store on-hand by SKU (a UPC the item master does not know is the engine's dead letter, not ours)."""
    stock = {}
    with pos_connection(stack, role="cdc") as pos, pos.cursor() as cur:
        cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cur.execute(
            "SELECT trim(s.store_id), trim(s.upc), s.on_hand, s.updated_at, coalesce(st.timezone, 'UTC') "
            "FROM store_stock s LEFT JOIN store st ON trim(st.store_id) = trim(s.store_id)"
        )
        for store, upc, on_hand, updated, zone in cur.fetchall():
            sku = upcs.get(upc)
            if sku is not None:
                stock[(sku, store)] = StockRow(STORE, max(0, on_hand), 0, _epoch_ms(updated, zone))
    return stock


def _read_reservation_log(
    kafka: KafkaSettings, listings: dict[tuple[str, str], str], locations: Mapping[str, str]
) -> list[ReservationLogEvent]:
    """Every usable reservation event, its channel SKU resolved; what the engine dead-letters is left out."""
    group = f"atp-reconcile-{uuid.uuid4().hex}"  # assigned, never subscribed: it joins no group, commits nothing
    consumer = Consumer(client_config(kafka) | {"group.id": group, "enable.auto.commit": False})
    try:
        metadata = consumer.list_topics(topics.RESERVATIONS, timeout=10).topics[topics.RESERVATIONS]
        parts = [TopicPartition(topics.RESERVATIONS, p, OFFSET_BEGINNING) for p in metadata.partitions]
        ends = {p.partition: consumer.get_watermark_offsets(p, timeout=10)[1] for p in parts}
        consumer.assign(parts)
        events = []
        deadline = time.monotonic() + READ_LOG_TIMEOUT_S
        while not _at_end(consumer, parts, ends):
            if time.monotonic() > deadline:
                raise ServiceError(f"reconcile: could not read {topics.RESERVATIONS} to its end within 120 s")
            # Decoded as of now: plausible event times are judged against a clock (the engine's, at receipt).
            now_ms = time.time_ns() // 1_000_000
            for message in consumer.consume(1000, 0.5):
                partition, offset = message.partition() or 0, message.offset() or 0
                if message.error() is not None or offset >= ends[partition]:
                    continue
                decoded = decode_reservation(topics.RESERVATIONS, partition, offset, message.value(), now_ms)
                for event in decoded.events:
                    if isinstance(event, ReservationReceived):
                        entry = _resolved(event, listings, locations)
                        if entry is not None:
                            events.append(entry)
        return events
    finally:
        consumer.close()


def _at_end(consumer: Consumer, parts: list[TopicPartition], ends: dict[int, int]) -> bool:
    """Every partition read up to the end it had when the read began (positions count past any marker)."""
    positions = {tp.partition: tp.offset for tp in consumer.position(parts)}
    return all(end == 0 or positions.get(partition, -1) >= end for partition, end in ends.items())


def _resolved(
    event: ReservationReceived, listings: dict[tuple[str, str], str], locations: Mapping[str, str]
) -> ReservationLogEvent | None:
    sku = listings.get((event.channel, event.channel_sku))
    if sku is None or event.location not in locations:
        return None
    return ReservationLogEvent(
        sku,
        event.location,
        ReservationEvent(
            event.event_id, event.reservation_id, event.op, event.qty, event.expires_at_ms, event.occurred_at_ms
        ),
    )
