"""Writing to the real ERP and POS the way their own applications do, for integration tests."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from confluent_kafka import Producer

from atp.settings import Settings
from connectors import topics
from connectors.kafka_config import client_config
from connectors.legacy_db import erp_connection, pos_connection
from tests.debezium_events import reservation_value, wish_value

DC = "DC0001"


def new_upc() -> str:
    digits = [9] + [random.randint(0, 9) for _ in range(10)]
    odd, even = sum(digits[0::2]), sum(digits[1::2])
    return "".join(map(str, digits)) + str((10 - (odd * 3 + even) % 10) % 10)


def new_item(settings: Settings) -> tuple[str, str]:
    """A new stocked, active item in the ERP item master: (sku, upc)."""
    sku, upc = f"IT-{uuid.uuid4().hex[:10].upper()}", new_upc()
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "INSERT INTO ITEM_MASTER (ITEM_NO, STYLE_NO, DESCR, UPC, ITEM_TYPE, STATUS_FLG, UPD_TS) "
            "VALUES (%s, 'IT', 'integration test item', %s, 'S', 'A', NOW(3))",
            (sku, upc),
        )
        erp.commit()
    return sku, upc


def set_dc_stock(settings: Settings, sku: str, qty_oh: int, qty_hold: int = 0) -> None:
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "INSERT INTO STOCK_BAL (ITEM_NO, LOC_CD, QTY_OH, QTY_HOLD, UPD_TS) VALUES (%s, %s, %s, %s, NOW(3)) "
            "ON DUPLICATE KEY UPDATE QTY_OH = VALUES(QTY_OH), QTY_HOLD = VALUES(QTY_HOLD), UPD_TS = NOW(3)",
            (sku, DC, qty_oh, qty_hold),
        )
        erp.commit()


def a_store(settings: Settings) -> str:
    with pos_connection(settings.stack) as pos, pos.cursor() as cur:
        cur.execute("SELECT store_id FROM store ORDER BY store_id LIMIT 1")
        row = cur.fetchone()
    assert row is not None, "the seeded POS has no store"
    return str(row[0])


def put_on_shelf(settings: Settings, store: str, upc: str, on_hand: int) -> None:
    with pos_connection(settings.stack) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO store_stock (store_id, upc, on_hand, updated_at) VALUES (%s, %s, %s, localtimestamp)",
            (store, upc, on_hand),
        )
        pos.commit()


def list_on_channel(settings: Settings, sku: str, channel: str = "SHOPIFY") -> str:
    """A CHANNEL_LISTING row for ``sku``; returns the channel SKU."""
    channel_sku = f"{channel[:2]}-{sku}"
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "INSERT INTO CHANNEL_LISTING (CHANNEL_CD, CHANNEL_SKU, ITEM_NO, ACTIVE_FLG) VALUES (%s, %s, %s, 'Y')",
            (channel, channel_sku, sku),
        )
        erp.commit()
    return channel_sku


def rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def reservation_event(
    op: str,
    reservation_id: str,
    channel_sku: str,
    qty: int,
    location: str = DC,
    expires_at: dt.datetime | None = None,
    event_id: str | None = None,
) -> tuple[bytes, bytes]:
    """(key, value) of one `orders.reservations` message, as a channel sends it."""
    now = dt.datetime.now(dt.UTC)
    value = reservation_value(
        op,
        reservation_id=reservation_id,
        qty=qty,
        channel_sku=channel_sku,
        location=location,
        expires_at=rfc3339(expires_at or now + dt.timedelta(hours=2)),
        occurred_at=rfc3339(now),
        event_id=event_id,
        customer_ref=f"cust-{uuid.uuid4().hex[:8]}",
    )
    return reservation_id.encode(), value


def send_reservations(settings: Settings, events: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(client_config(settings.kafka) | {"enable.idempotence": True})
    for key, value in events:
        producer.produce(topics.RESERVATIONS, key=key, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0, "reservations were not acknowledged by Kafka"


def wish_event(op: str, wish_id: str, channel_sku: str, customer_ref: str, consent: bool = True) -> tuple[bytes, bytes]:
    """(key, value) of one `orders.wishlist` message, as a channel sends it (stamped now)."""
    value = wish_value(
        op,
        wish_id=wish_id,
        consent=consent,
        channel_sku=channel_sku,
        customer_ref=customer_ref,
        occurred_at=rfc3339(dt.datetime.now(dt.UTC)),
        event_id=f"{wish_id}-{op}-{uuid.uuid4().hex[:6]}",
    )
    return wish_id.encode(), value


def send_wishes(settings: Settings, events: list[tuple[bytes, bytes]]) -> None:
    producer = Producer(client_config(settings.kafka) | {"enable.idempotence": True})
    for key, value in events:
        producer.produce(topics.WISHLIST, key=key, value=value)
        producer.poll(0)
    assert producer.flush(30) == 0, "wish-list events were not acknowledged by Kafka"
