"""The two Debezium connectors, built from settings, and their registration.

Both write JSON without schemas (the decoders in ``connectors.cdc`` read it),
DECIMAL as strings (exact, and readable without the schema), and tombstones
after deletes. Topics: ``erp.erp.<TABLE>`` and ``pos.public.<table>``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from atp.errors import ServiceError
from atp.settings import KafkaSettings, LocalStackSettings
from connectors.connect_client import ConnectClient
from connectors.kafka_config import java_security_properties
from connectors.secret_files import read_secret

ERP_CONNECTOR = "atp-erp"
POS_CONNECTOR = "atp-pos"

# The tables Debezium captures; the CDC users may read these and no other (infra.mariadb, infra.postgres).
ERP_TABLES = (
    "ITEM_MASTER",
    "KIT_COMPONENT",
    "LOCATION",
    "STOCK_BAL",
    "STOCK_LOT",
    "PO_LINE",
    "SAFETY_STK",
    "CHANNEL_LISTING",
)
POS_TABLES = ("store", "store_stock", "sale_ticket", "sale_line")


# Personal data never enters Kafka: Debezium drops these columns at the source, and the POS CDC user may not
# even read them (infra.postgres grants it SELECT on every other column of the table only).
POS_PERSONAL_COLUMNS = ("public.sale_ticket.customer_email", "public.sale_ticket.loyalty_id")


def personal_columns(table: str) -> tuple[str, ...]:
    """The personal columns of POS ``table`` (e.g. ``sale_ticket``), which the CDC user may not read."""
    prefix = f"public.{table}."
    return tuple(c.removeprefix(prefix) for c in POS_PERSONAL_COLUMNS if c.startswith(prefix))


Progress = Callable[[str], None]


def _common(partitions: int) -> dict[str, str]:
    return {
        "tasks.max": "1",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "false",
        "value.converter.schemas.enable": "false",
        "decimal.handling.mode": "string",
        "tombstones.on.delete": "true",
        "snapshot.mode": "initial",
        # How long the connector sleeps between looks for changes when it has none (default 500 ms): a
        # change waits up to this long before it is handed to Kafka, the largest part of commit-to-record
        # latency at low rates. 10 ms costs 100 idle wake-ups a second.
        "poll.interval.ms": "10",
        # A change topic Debezium makes itself (a table added later) is split like those atp.bootstrap made,
        # so its SKUs are spread over the same partition numbers the dataflow reads (ATP_INPUT_PARTITIONS).
        "topic.creation.default.partitions": str(partitions),
        "topic.creation.default.replication.factor": "1",
        # Change topics keep every change (no personal data reaches them), so a replay from the start works on
        # any day; atp.bootstrap creates the ones the dataflow reads with the same (connectors.topics).
        "topic.creation.default.cleanup.policy": "delete",
        "topic.creation.default.retention.ms": "-1",
        "topic.creation.default.retention.bytes": "-1",
        # Each change says which source transaction it belongs to and where in it, and BEGIN/END (with the
        # number of changes per table) go to <prefix>.transaction, so the dataflow applies transactions
        # whole and in commit order (atp.domain.transactions). That topic is created with one partition
        # before the connectors start (atp.bootstrap).
        "provide.transaction.metadata": "true",
    }


def secrets_file(stack: LocalStackSettings) -> Path:
    """Where Kafka Connect's file config provider reads the CDC users' passwords (never in a connector's config)."""
    return stack.home / "secrets" / "connect.properties"


# Kafka Connect's REST API asks every caller for HTTP basic auth (infra.connect): this user, and the password
# generated into connect_password_file at the worker's first start.
CONNECT_USER = "atp"


def connect_password_file(stack: LocalStackSettings) -> Path:
    """The generated password of Kafka Connect's REST API (0600; made by ``atp up``)."""
    return stack.home / "secrets" / "connect-rest.password"


def connect_client(stack: LocalStackSettings, timeout_s: float = 15.0) -> ConnectClient:
    """A client of the local Connect worker that sends the stack's REST credential."""
    password = read_secret(connect_password_file(stack), "kafka connect")
    return ConnectClient(stack.connect_url, (CONNECT_USER, password), timeout_s=timeout_s)


def _secret(stack: LocalStackSettings, key: str) -> str:
    return "${file:" + str(secrets_file(stack)) + ":" + key + "}"


def _schema_history_security(stack: LocalStackSettings, kafka: KafkaSettings) -> dict[str, str]:
    """The security of the MariaDB connector's schema-history producer and consumer: the same as every client's,
    the SASL password a ``${file:...}`` reference, so Connect's config topic never holds it."""
    security = java_security_properties(kafka, password=_secret(stack, "kafka_sasl_password"))
    return {
        f"schema.history.internal.{client}.{key}": value
        for client in ("producer", "consumer")
        for key, value in security.items()
    }


def erp_config(stack: LocalStackSettings, kafka: KafkaSettings) -> dict[str, str]:
    """The ERP connector of the local stack (its schema history with atp's Kafka security)."""
    connector = erp_connector(
        "127.0.0.1",
        stack.mariadb_port,
        _secret(stack, "erp_cdc_password"),
        kafka.bootstrap_servers,
        partitions=kafka.input_partitions,
    )
    return connector | _schema_history_security(stack, kafka)


def erp_connector(
    hostname: str, port: int, password_ref: str, bootstrap_servers: str, *, partitions: int
) -> dict[str, str]:
    """The ERP connector reading MariaDB at ``hostname:port``; ``password_ref`` names the password for one of
    Connect's config providers (the password itself never enters a connector's config); ``partitions``: of
    the change topics it creates."""
    return {
        **_common(partitions),
        "connector.class": "io.debezium.connector.mariadb.MariaDbConnector",
        "database.hostname": hostname,
        "database.port": str(port),
        "database.user": "erp_cdc",
        "database.password": password_ref,
        "database.server.id": "184054",
        "topic.prefix": "erp",
        "database.include.list": "erp",
        "table.include.list": ",".join(f"erp.{t}" for t in ERP_TABLES),
        "schema.history.internal.kafka.bootstrap.servers": bootstrap_servers,
        "schema.history.internal.kafka.topic": "atp.schema-history.erp",
        "include.schema.changes": "false",
        # After MariaDB restarts, the binlog client retries at this interval (default 60 s: the chaos test
        # measured 95 s to recover with it).
        "connect.keep.alive.interval.ms": "5000",
    }


def pos_config(stack: LocalStackSettings, kafka: KafkaSettings) -> dict[str, str]:
    """The POS connector of the local stack."""
    return pos_connector(
        "127.0.0.1", stack.postgres_port, _secret(stack, "pos_cdc_password"), partitions=kafka.input_partitions
    )


def pos_connector(hostname: str, port: int, password_ref: str, *, partitions: int) -> dict[str, str]:
    """The POS connector reading PostgreSQL at ``hostname:port`` (``password_ref``, ``partitions``: as for
    :func:`erp_connector`)."""
    return {
        **_common(partitions),
        "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
        "database.hostname": hostname,
        "database.port": str(port),
        "database.user": "pos_cdc",
        "database.password": password_ref,
        "database.dbname": "pos",
        "topic.prefix": "pos",
        "plugin.name": "pgoutput",
        "publication.name": "atp_pos",
        "publication.autocreate.mode": "disabled",
        "slot.name": "atp_pos",
        "table.include.list": ",".join(f"public.{t}" for t in POS_TABLES),
        "column.exclude.list": ",".join(POS_PERSONAL_COLUMNS),
        # The snapshot SELECT names the captured columns only (Debezium 3.5 builds it from the columns that
        # pass column.exclude.list), which is all pos_cdc may read of sale_ticket. PostgreSQL's LOCK TABLE
        # needs table-wide SELECT, which pos_cdc does not have, so the snapshot takes no lock: its rows are
        # still consistent (read in the replication slot's exported snapshot); only a schema change made
        # during a snapshot's first seconds could go unseen until the next change of that table.
        "snapshot.locking.mode": "none",
    }


def register_cdc(stack: LocalStackSettings, kafka: KafkaSettings, progress: Progress) -> None:
    """Create or update both connectors and wait until they run (idempotent)."""
    client = connect_client(stack)
    for name, config in ((ERP_CONNECTOR, erp_config(stack, kafka)), (POS_CONNECTOR, pos_config(stack, kafka))):
        client.put_config(name, config)
        try:
            client.wait_running(name)
        except ServiceError:
            # A task that failed under the connector's previous config (an upgrade that moved the broker to
            # another listener, say) stays FAILED until it is restarted; a failure under this config fails again.
            progress(f"  connector {name} failed: restarting it under its current config")
            client.restart(name)
            client.wait_running(name)
        progress(f"  connector {name} RUNNING")


def connector_states(stack: LocalStackSettings) -> dict[str, str]:
    """Each registered connector's state and its tasks' (e.g. RUNNING, or RUNNING/FAILED)."""
    client = connect_client(stack)
    states = {}
    for name in sorted(client.connectors()):
        status = client.status(name)
        tasks = {t["state"] for t in status.get("tasks", [])}
        connector = status["connector"]["state"]
        states[name] = connector if tasks <= {connector} else f"{connector}/{'/'.join(sorted(tasks))}"
    return states
