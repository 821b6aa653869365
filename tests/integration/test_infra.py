"""The real services: least privilege for CDC, personal data kept out of Kafka, failures that name the service."""

from __future__ import annotations

import time

import orjson
import pytest
from confluent_kafka import Consumer

from atp.errors import ServiceError
from atp.settings import Settings
from connectors.legacy_db import erp_connection, pos_connection
from infra import process

pytestmark = pytest.mark.integration


def test_the_erp_cdc_user_can_read_but_not_write(stack: Settings):
    with erp_connection(stack, "cdc") as erp, erp.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM STOCK_BAL")
        for statement in (
            "INSERT INTO LOCATION (LOC_CD, LOC_TYPE, LOC_NAME) VALUES ('XX0001', 'D', 'x')",
            "UPDATE STOCK_BAL SET QTY_OH = 0",
            "CREATE TABLE erp.sneaky (id INT)",
        ):
            with pytest.raises(Exception, match="denied"):
                cur.execute(statement)


def test_the_pos_cdc_user_can_read_but_not_write(stack: Settings):
    with pos_connection(stack, "cdc", autocommit=True) as pos, pos.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM store_stock")
        for statement in (
            "INSERT INTO store VALUES ('XX', 'x', 'UTC')",
            "UPDATE store_stock SET on_hand = 0",
            "CREATE TABLE sneaky (id int)",
        ):
            with pytest.raises(Exception, match="permission denied"):
                cur.execute(statement.encode())


def test_customer_email_and_loyalty_id_never_reach_kafka(cdc: Settings):
    ticket_id = 900_000_000 + time.time_ns() // 1_000_000 % 100_000_000  # new on every run
    with pos_connection(cdc) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status, customer_email, loyalty_id) "
            "VALUES (%s, 'ST0001', now(), 'PAID', 'private.person@example.com', 'LOY-SECRET')",
            (ticket_id,),
        )
        pos.commit()
    consumer = Consumer(
        {
            "bootstrap.servers": cdc.bootstrap_servers,
            "group.id": f"pii-check-{ticket_id}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["pos.public.sale_ticket"])
    seen_ticket = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not seen_ticket:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None or message.value() is None:
                continue
            value = message.value() or b""
            assert b"private.person@example.com" not in value and b"LOY-SECRET" not in value
            row = orjson.loads(value)["after"]
            assert "customer_email" not in row and "loyalty_id" not in row
            seen_ticket = row["ticket_id"] == ticket_id
    finally:
        consumer.close()
    assert seen_ticket


def test_a_service_that_never_becomes_healthy_fails_naming_itself_and_its_log(settings: Settings):
    impatient = settings.model_copy(update={"start_timeout_s": 0.5})
    with pytest.raises(ServiceError, match=r"^flaky did not become healthy within 0s; see .*flaky\.log$"):
        process.wait_healthy(impatient, "flaky", lambda: False, lambda _: None)
