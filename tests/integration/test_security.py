"""Secure by default on the real stack: what a caller without a credential cannot do, what the CDC users
cannot read, which files are private, and what Kafka keeps how long.

The stack comes from ``conftest.py`` (own home ``.atp/test`` and ports 2xxxx, never a developer's demo
stack). A stack started by an older version of ``infra`` keeps its old settings until it is restarted:
run ``ATP_HOME=.atp/test ... atp down`` first (conftest's ``stack`` fixture then starts it afresh).
"""

from __future__ import annotations

import base64
import socket
import stat
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import orjson
import pytest
from confluent_kafka import Consumer

from atp.settings import Settings
from connectors.kafka_config import client_config
from connectors.legacy_db import pos_connection

pytestmark = pytest.mark.integration


def _run_id() -> int:
    return time.time_ns() // 1_000_000 % 1_000_000_000


def _snapshot_read_of(settings: Settings, ticket_id: int, timeout_s: float = 90) -> dict[str, object]:
    """The first snapshot read (op ``r``) of POS ticket ``ticket_id`` on ``pos.public.sale_ticket``."""
    consumer = Consumer(
        client_config(settings.kafka)
        | {
            "group.id": f"security-test-{_run_id()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["pos.public.sale_ticket"])
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None or not message.value():
                continue
            try:
                event = orjson.loads(message.value() or b"")
                if event["op"] == "r" and event["after"]["ticket_id"] == ticket_id:
                    return dict(event)
            except (orjson.JSONDecodeError, KeyError, TypeError):
                continue
    finally:
        consumer.close()
    raise AssertionError(f"no snapshot read of ticket {ticket_id} within {timeout_s:.0f}s")


# -- the POS CDC user reads the captured columns only ---------------------------------------------------


def test_the_pos_cdc_user_cannot_read_the_personal_columns_of_sale_ticket(stack: Settings) -> None:
    with pos_connection(stack.stack, "cdc", autocommit=True) as pos, pos.cursor() as cur:
        cur.execute(b"SELECT ticket_id, store_id, opened_at, status FROM sale_ticket LIMIT 1")
        for statement in (
            b"SELECT customer_email FROM sale_ticket",
            b"SELECT loyalty_id FROM sale_ticket",
            b"SELECT * FROM sale_ticket",
        ):
            with pytest.raises(Exception, match="permission denied"):
                cur.execute(statement)
        # A table lock needs whole-table SELECT (and a transaction to hold it in).
        with pytest.raises(Exception, match="permission denied"), pos.transaction():
            cur.execute(b"LOCK TABLE sale_ticket IN ACCESS SHARE MODE")


def test_the_pos_connector_still_snapshots_and_streams_sale_tickets(cdc: Settings) -> None:
    from tests.integration.test_chaos import resnapshot_the_pos

    ticket_id = 910_000_000_000 + _run_id()
    with pos_connection(cdc.stack) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status, customer_email, loyalty_id) "
            "VALUES (%s, 'ST9999', now(), 'PAID', 'snapshot.person@example.com', 'LOY-SNAPSHOT')",
            (ticket_id,),
        )
        pos.commit()

    resnapshot_the_pos(cdc)  # snapshot.mode=always: every POS row read again as pos_cdc, then streaming
    event = _snapshot_read_of(cdc, ticket_id)
    after = event["after"]
    assert isinstance(after, dict) and sorted(after) == ["opened_at", "status", "store_id", "ticket_id"]
    assert "snapshot.person@example.com" not in orjson.dumps(event).decode()

    from connectors.cdc_connectors import POS_CONNECTOR, connect_client

    assert connect_client(cdc.stack).status(POS_CONNECTOR)["connector"]["state"] == "RUNNING"
    streamed = ticket_id + 1
    with pos_connection(cdc.stack) as pos, pos.cursor() as cur:
        cur.execute(
            "INSERT INTO sale_ticket (ticket_id, store_id, opened_at, status, customer_email) "
            "VALUES (%s, 'ST9999', now(), 'PAID', 'stream.person@example.com')",
            (streamed,),
        )
        pos.commit()
    from tests.integration.test_infra import _first_event

    created = _first_event(
        cdc, "pos.public.sale_ticket", lambda e: e["op"] == "c" and e["after"]["ticket_id"] == streamed
    )
    assert "stream.person@example.com" not in orjson.dumps(created).decode()


# -- Kafka Connect: a credential for every REST call, and no FileStream connectors ------------------------


def _connect_status(settings: Settings, method: str, path: str, body: object = None, auth: str | None = None) -> int:
    headers = {"Content-Type": "application/json"}
    if auth is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(auth.encode()).decode()
    data = orjson.dumps(body) if body is not None else None
    request = urllib.request.Request(settings.stack.connect_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _validate_body(settings: Settings) -> dict[str, str]:
    """A config whose validation would resolve a ``${file:...}`` reference to the CDC passwords."""
    from connectors.cdc_connectors import pos_config

    return pos_config(settings.stack, settings.kafka) | {"name": "atp-validate-probe"}


def test_connect_refuses_every_rest_call_without_the_credential(cdc: Settings) -> None:
    from connectors.cdc_connectors import CONNECT_USER, connect_password_file

    validate = "/connector-plugins/io.debezium.connector.postgresql.PostgresConnector/config/validate"
    calls = [
        ("GET", "/connectors", None),
        ("GET", "/connectors/atp-pos/config", None),
        ("GET", "/connector-plugins", None),
        ("PUT", validate, _validate_body(cdc)),
        ("PUT", "/connectors/atp-sneaky/config", {"connector.class": "FileStreamSource", "file": "/etc/passwd"}),
        ("DELETE", "/connectors/atp-pos", None),
    ]
    for method, path, body in calls:
        assert _connect_status(cdc, method, path, body) == 401, (method, path)
        assert _connect_status(cdc, method, path, body, auth=f"{CONNECT_USER}:wrong") == 401, (method, path)

    password = connect_password_file(cdc.stack).read_text().strip()
    assert _connect_status(cdc, "GET", "/connectors", auth=f"{CONNECT_USER}:{password}") == 200
    assert _connect_status(cdc, "PUT", validate, _validate_body(cdc), auth=f"{CONNECT_USER}:{password}") == 200


def test_the_product_reaches_connect_with_its_credential(cdc: Settings) -> None:
    from connectors.cdc_connectors import connector_states
    from infra.connect import Connect

    states = connector_states(cdc.stack)  # what atp status and the connector watch read
    assert (states["atp-erp"], states["atp-pos"]) == ("RUNNING", "RUNNING")
    assert Connect(cdc.stack, cdc.kafka).health()


def test_connect_offers_only_the_two_debezium_connectors(stack: Settings) -> None:
    from connectors.cdc_connectors import connect_client
    from infra.connect import DEBEZIUM_CLASSES

    # No FileStream connectors (connect-file is not installed) and no MirrorMaker ones (connect-mirror never was).
    assert connect_client(stack.stack).plugins() == set(DEBEZIUM_CLASSES)


# -- files: the stack's folders 0700, its secrets, configs and logs 0600 -----------------------------------


def test_the_running_stack_keeps_its_files_private(pipeline: Settings) -> None:
    home = pipeline.stack.home
    folders = [
        home / "secrets",
        pipeline.stack.tls_dir,
        pipeline.stack.data_dir / "kafka",
        pipeline.stack.data_dir / "kafka" / "log",
        pipeline.stack.data_dir / "connect",
        pipeline.stack.data_dir / "registry",
        pipeline.stack.data_dir / "postgres",
        pipeline.stack.data_dir / "mariadb",
        pipeline.dataflow.recovery_dir,
        pipeline.store.chdb_path,
    ]
    files = [
        *(p for p in (home / "secrets").iterdir() if p.is_file()),
        *pipeline.stack.tls_dir.iterdir(),
        pipeline.stack.data_dir / "kafka" / "server.properties",
        pipeline.stack.data_dir / "registry" / "config" / "application.properties",
        pipeline.stack.data_dir / "connect" / "connect-distributed.properties",
        *(pipeline.stack.logs_dir / f"{name}.log" for name in ("kafka", "connect", "registry", "mariadb", "pipeline")),
    ]
    loose = [f"{p} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in folders if stat.S_IMODE(p.stat().st_mode) != 0o700]
    loose += [f"{p} {oct(stat.S_IMODE(p.stat().st_mode))}" for p in files if stat.S_IMODE(p.stat().st_mode) != 0o600]
    assert loose == []
    assert {p.name for p in (home / "secrets").iterdir()} >= {
        "store.token",
        "api.token",
        "connect.properties",
        "connect-rest.password",
        "connect-rest-users.properties",
        "connect-jaas.conf",
        "kafka.password",
    }


# -- Kafka: TLS and SASL on every connection, Connect's and the registry's storage included -------------


def test_the_local_broker_offers_no_unauthenticated_listener(stack: Settings) -> None:
    assert stack.kafka.security_protocol == "SASL_SSL" and not stack.stack.kafka_plaintext_listener
    assert stack.kafka.bootstrap_servers == f"127.0.0.1:{stack.stack.kafka_ssl_port}"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", stack.stack.kafka_port), timeout=2).close()


def test_a_record_round_trips_over_sasl_ssl(stack: Settings) -> None:
    from confluent_kafka import Producer

    topic, value = f"security.tls.{_run_id()}", f"over tls {_run_id()}".encode()
    producer = Producer(client_config(stack.kafka) | {"enable.idempotence": True})
    producer.produce(topic, key=b"tls", value=value)
    assert producer.flush(30) == 0
    consumer = Consumer(client_config(stack.kafka) | {"group.id": topic, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and message.error() is None and message.value() == value:
                return
    finally:
        consumer.close()
    raise AssertionError(f"the record sent to {topic} over SASL_SSL did not come back within 60s")


def test_a_client_that_does_not_trust_the_ca_or_has_a_wrong_password_is_refused(
    stack: Settings, tmp_path: Path
) -> None:
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient
    from pydantic import SecretStr

    other_ca = tmp_path / "other-ca.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "other.key"),
         "-out", str(other_ca), "-subj", "/CN=not the atp CA", "-days", "1"],
        check=True, capture_output=True,
    )  # fmt: skip
    untrusting = stack.kafka.model_copy(update={"ssl_ca_file": other_ca})
    wrong_password = stack.kafka.model_copy(update={"sasl_password": SecretStr("not-the-password")})
    for kafka in (untrusting, wrong_password):
        with pytest.raises(KafkaException):
            AdminClient(client_config(kafka) | {"log_level": 0}).list_topics(timeout=8)
    assert "atp.availability" in AdminClient(client_config(stack.kafka)).list_topics(timeout=10).topics


def test_connect_and_the_registry_storage_talk_to_kafka_over_sasl_ssl(cdc: Settings) -> None:
    from connectors.cdc_connectors import ERP_CONNECTOR, POS_CONNECTOR, connect_client
    from infra import registry

    tls_listener = f"127.0.0.1:{cdc.stack.kafka_ssl_port}"
    worker = (cdc.stack.data_dir / "connect" / "connect-distributed.properties").read_text().splitlines()
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert f"{prefix}bootstrap.servers={tls_listener.replace(':', chr(92) + ':')}" in worker, prefix
        assert f"{prefix}security.protocol=SASL_SSL" in worker, prefix
    storage = (registry.storage_dir(cdc.stack) / "config" / "application.properties").read_text().splitlines()
    for client in ("producer", "consumer", "admin"):
        assert f"apicurio.kafkasql.{client}.security.protocol=SASL_SSL" in storage, client
    # The broker has no other listener they could use: a running connector and a schema the registry stores
    # and reads back (KafkaSQL acknowledges a write once its journal consumer has read it) went over TLS.
    client = connect_client(cdc.stack)
    assert {client.status(name)["connector"]["state"] for name in (ERP_CONNECTOR, POS_CONNECTOR)} == {"RUNNING"}
    subject = f"security-tls-{_run_id()}"
    schema = orjson.dumps({"type": "record", "name": "Probe", "fields": [{"name": "n", "type": "int"}]}).decode()
    request = urllib.request.Request(
        f"{cdc.kafka.registry_url}/subjects/{subject}/versions",
        data=orjson.dumps({"schema": schema}),
        method="POST",
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        schema_id = orjson.loads(response.read())["id"]
    with urllib.request.urlopen(f"{cdc.kafka.registry_url}/schemas/ids/{schema_id}", timeout=30) as response:
        assert "Probe" in orjson.loads(response.read())["schema"]


# -- Kafka: the change topics keep every change; reservations (customer_ref) 30 days -----------------------


def _topic_config(settings: Settings, topic: str) -> dict[str, str]:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.admin._config import ConfigResource
    from confluent_kafka.admin._resource import ResourceType

    resource = ConfigResource(ResourceType.TOPIC, topic)
    admin = AdminClient(client_config(settings.kafka))
    entries = admin.describe_configs([resource])[resource].result(timeout=15)
    return {name: entry.value for name, entry in entries.items()}


def test_the_change_topics_keep_every_change_and_reservations_30_days(cdc: Settings) -> None:
    from connectors import topics

    for topic in ("erp.erp.STOCK_BAL", "pos.public.store_stock", "pos.public.sale_ticket", "erp.transaction"):
        config = _topic_config(cdc, topic)
        assert (config["retention.ms"], config["retention.bytes"], config["cleanup.policy"]) == ("-1", "-1", "delete")
    reservations = _topic_config(cdc, topics.RESERVATIONS)
    assert reservations["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert reservations["segment.ms"] == str(24 * 3600 * 1000)
    assert reservations["cleanup.policy"] == "delete"


def test_a_deletion_request_says_when_kafka_has_dropped_the_customers_reservations(pipeline: Settings) -> None:
    import datetime as dt
    import uuid

    from atp.privacy_requests import forget_customer
    from tests.debezium_events import reservation_value
    from tests.integration.legacy_writes import send_reservations

    ref = f"cust-forget-{uuid.uuid4().hex[:8]}"
    rid = f"forget-{uuid.uuid4().hex[:8]}"
    send_reservations(pipeline, [(rid.encode(), reservation_value("RELEASE", reservation_id=rid, customer_ref=ref))])

    report = forget_customer(pipeline.store, ref, pipeline.kafka)

    assert "kafka:orders.reservations" in report.checked
    by_topic = {m.topic: m for m in report.kafka}  # orders.wishlist and the notice topics are counted too
    mentions = by_topic["orders.reservations"]
    assert mentions.records == 1
    assert by_topic["orders.wishlist"].records == 0  # the request itself names the subject by digest only
    now = dt.datetime.now(dt.UTC)
    assert mentions.gone_by is not None
    assert now + dt.timedelta(days=30) < mentions.gone_by <= now + dt.timedelta(days=31, minutes=5)
