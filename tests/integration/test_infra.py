"""The real services, started by ``infra``: health, CDC from both legacy databases into Kafka,
least privilege for the CDC users, personal data kept out of Kafka, the registry's contracts
and ids across a restart, and failures that name the service and its log.

The stack comes from ``conftest.py`` (own home ``.atp/test`` and ports 2xxxx, never a
developer's demo stack). If a service cannot start, every test that needs it FAILS with
the ServiceError message.
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from atp.errors import ServiceError
from atp.settings import Settings
from connectors.kafka_config import client_config
from connectors.legacy_db import erp_connection, pos_connection
from infra import process

pytestmark = pytest.mark.integration


def _run_id() -> int:
    return time.time_ns() // 1_000_000 % 1_000_000_000  # new on every run, so warm re-runs pass


def _first_event(
    settings: Settings, topic: str, wanted: Callable[[dict[str, Any]], bool], timeout_s: float = 60
) -> dict[str, Any]:
    """The first Debezium JSON value on ``topic`` that ``wanted`` accepts (read from the beginning)."""
    consumer = Consumer(
        {
            **client_config(settings.kafka),
            "group.id": f"infra-test-{_run_id()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None or not message.value():
                continue
            try:  # other suites put unparsable or foreign records on CDC topics on purpose: skip them
                event: dict[str, Any] = orjson.loads(message.value() or b"")
                if wanted(event):
                    return event
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    finally:
        consumer.close()
    raise AssertionError(f"no matching event on {topic} within {timeout_s:.0f}s")


def test_every_service_is_healthy_and_a_second_up_starts_nothing(stack: Settings) -> None:
    from infra import stack as services

    statuses = services.status(stack.stack, stack.kafka)
    assert [(s.name, s.healthy) for s in statuses] == [
        ("postgres", True),
        ("mariadb", True),
        ("kafka", True),
        ("registry", True),
        ("connect", True),
    ]
    said: list[str] = []
    services.up(stack.stack, stack.kafka, said.append)
    assert [line for line in said if "starting" in line] == []
    assert sum("already running and healthy" in line for line in said) == 5


def test_an_erp_stock_bal_update_arrives_on_erp_erp_STOCK_BAL_as_a_debezium_event(cdc: Settings) -> None:
    item_no = f"ZZ-INFRA-{_run_id()}"
    with erp_connection(cdc.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "INSERT INTO STOCK_BAL (ITEM_NO, LOC_CD, QTY_OH, QTY_HOLD, UPD_TS) VALUES (%s, 'DC9999', 10, 1, NOW(3))",
            (item_no,),
        )
        erp.commit()
        cur.execute("UPDATE STOCK_BAL SET QTY_OH = 15, UPD_TS = NOW(3) WHERE ITEM_NO = %s", (item_no,))
        erp.commit()

    event = _first_event(cdc, "erp.erp.STOCK_BAL", lambda e: e["op"] == "u" and e["after"]["ITEM_NO"] == item_no)

    assert event["before"]["QTY_OH"] == "10.000" and event["after"]["QTY_OH"] == "15.000"  # decimals as strings
    assert event["after"]["LOC_CD"] == "DC9999" and event["after"]["QTY_HOLD"] == "1.000"
    assert event["source"]["connector"] == "mariadb" and event["source"]["table"] == "STOCK_BAL"


def test_a_pos_store_stock_update_arrives_on_pos_public_store_stock_as_a_debezium_event(cdc: Settings) -> None:
    upc = f"{_run_id():012d}"
    with pos_connection(cdc.stack) as pos, pos.cursor() as cur:
        cur.execute("INSERT INTO store_stock VALUES ('ST9999', %s, 7, localtimestamp)", (upc,))
        pos.commit()
        cur.execute("UPDATE store_stock SET on_hand = 6, updated_at = localtimestamp WHERE upc = %s", (upc,))
        pos.commit()

    event = _first_event(cdc, "pos.public.store_stock", lambda e: e["op"] == "u" and e["after"]["upc"] == upc)

    assert event["before"]["on_hand"] == 7 and event["after"]["on_hand"] == 6  # REPLICA IDENTITY FULL
    assert event["after"]["store_id"] == "ST9999"
    assert event["source"]["connector"] == "postgresql" and event["source"]["table"] == "store_stock"


def test_customer_email_and_loyalty_id_never_reach_kafka(cdc: Settings) -> None:
    ticket_id = 900_000_000_000 + _run_id()
    with pos_connection(cdc.stack) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status, customer_email, loyalty_id) "
            "VALUES (%s, 'ST9999', now(), 'PAID', 'private.person@example.com', 'LOY-SECRET')",
            (ticket_id,),
        )
        pos.commit()

    event = _first_event(
        cdc, "pos.public.sale_ticket", lambda e: e["op"] == "c" and e["after"]["ticket_id"] == ticket_id
    )

    assert sorted(event["after"]) == ["opened_at", "status", "store_id", "ticket_id"]
    assert "private.person@example.com" not in json.dumps(event) and "LOY-SECRET" not in json.dumps(event)


def test_the_erp_cdc_user_can_read_but_not_write(stack: Settings) -> None:
    with erp_connection(stack.stack, "cdc") as erp, erp.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM STOCK_BAL")
        for statement in (
            "INSERT INTO LOCATION (LOC_CD, LOC_TYPE, LOC_NAME) VALUES ('XX0001', 'D', 'x')",
            "UPDATE STOCK_BAL SET QTY_OH = 0",
            "DELETE FROM STOCK_BAL",
            "CREATE TABLE erp.sneaky (id INT)",
            "SELECT COUNT(*) FROM mysql.user",
        ):
            with pytest.raises(Exception, match="denied"):
                cur.execute(statement)


def test_the_pos_cdc_user_can_read_but_not_write(stack: Settings) -> None:
    with pos_connection(stack.stack, "cdc", autocommit=True) as pos, pos.cursor() as cur:
        cur.execute(b"SELECT COUNT(*) FROM store_stock")
        for statement in (
            b"INSERT INTO store VALUES ('XX', 'x', 'UTC')",
            b"UPDATE store_stock SET on_hand = 0",
            b"DELETE FROM sale_line",
            b"CREATE TABLE sneaky (id int)",
        ):
            with pytest.raises(Exception, match="permission denied"):
                cur.execute(statement)


def test_the_cdc_users_cannot_read_a_table_they_do_not_capture(stack: Settings) -> None:
    from infra.mariadb import admin_sql
    from infra.postgres import superuser_sql

    admin_sql(stack.stack, "CREATE TABLE IF NOT EXISTS erp.PAYROLL (EMP_NO INT PRIMARY KEY, SALARY INT)")
    superuser_sql(stack.stack, "CREATE TABLE IF NOT EXISTS public.staff_payroll (emp int, salary int)", database="pos")
    try:
        with erp_connection(stack.stack, "cdc") as erp, erp.cursor() as cur, pytest.raises(Exception, match="denied"):
            cur.execute("SELECT * FROM PAYROLL")
        with (
            pos_connection(stack.stack, "cdc") as pos,
            pos.cursor() as cur2,
            pytest.raises(Exception, match="permission"),
        ):
            cur2.execute(b"SELECT * FROM staff_payroll")
    finally:
        admin_sql(stack.stack, "DROP TABLE erp.PAYROLL")
        superuser_sql(stack.stack, "DROP TABLE public.staff_payroll", database="pos")


def test_kafka_clients_set_for_sasl_talk_to_the_sasl_listener_and_a_wrong_password_is_refused(stack: Settings) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from pydantic import SecretStr

    sasl = stack.kafka.model_copy(
        update={"bootstrap_servers": f"127.0.0.1:{stack.stack.kafka_sasl_port}", "security_protocol": "SASL_PLAINTEXT"}
    )
    assert "atp.availability" in AdminClient(client_config(sasl)).list_topics(timeout=10).topics
    wrong = sasl.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    with pytest.raises(KafkaException):
        AdminClient(client_config(wrong)).list_topics(timeout=5)


def test_connector_configs_name_the_password_file_never_the_password(cdc: Settings) -> None:
    from connectors.cdc_connectors import connect_client, secrets_file

    for name in ("atp-erp", "atp-pos"):
        config = connect_client(cdc.stack).config(name)
        assert config["database.password"].startswith("${file:" + str(secrets_file(cdc.stack)) + ":")
    assert stat.S_IMODE(secrets_file(cdc.stack).stat().st_mode) == 0o600


def test_a_full_transitive_contract_round_trips_through_avro_and_its_id_survives_a_registry_restart(
    stack: Settings,
) -> None:
    from infra.registry import Registry

    topic = f"infra.test.{_run_id()}"
    schema = json.dumps(
        {
            "type": "record",
            "name": "Probe",
            "namespace": "atp.test",
            "fields": [{"name": "sku", "type": "string"}, {"name": "available", "type": "int"}],
        }
    )
    client = SchemaRegistryClient({"url": stack.kafka.registry_url})
    client.set_compatibility(subject_name=f"{topic}-value", level="FULL_TRANSITIVE")
    serializer = AvroSerializer(client, schema, conf={"subject.name.strategy": topic_subject_name_strategy})
    context = SerializationContext(topic, MessageField.VALUE)
    payload = serializer({"sku": "TEE-1001-BLK-M", "available": 3}, context)
    assert payload is not None
    assert client.get_compatibility(f"{topic}-value") == "FULL_TRANSITIVE"
    assert AvroDeserializer(client)(payload, context) == {"sku": "TEE-1001-BLK-M", "available": 3}

    registry = Registry(stack.stack, stack.kafka)
    registry.stop()
    registry.start(print)

    fresh_client = SchemaRegistryClient({"url": stack.kafka.registry_url})  # no cached ids
    assert AvroDeserializer(fresh_client)(payload, context) == {"sku": "TEE-1001-BLK-M", "available": 3}


def test_a_service_that_never_becomes_healthy_fails_naming_itself_and_its_log(settings: Settings) -> None:
    impatient = settings.stack.model_copy(update={"start_timeout_s": 0.5})
    with pytest.raises(ServiceError, match=r"^flaky did not become healthy within 0s; see .*flaky\.log$"):
        process.wait_healthy(impatient, "flaky", lambda: False, lambda _: None)
