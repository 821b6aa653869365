"""Kafka Connect 4.1.1 (distributed worker) with the Debezium PostgreSQL and MariaDB plugins.

Its config, offset and status topics live in our Kafka. Connector passwords are
never stored in the connector configs: they reference a 0600 secrets file
through Connect's FileConfigProvider (``${file:<path>:<key>}``).
"""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import orjson

from atp.settings import KafkaSettings, LocalStackSettings
from connectors.cdc_connectors import secrets_file
from infra import java, process
from infra.process import Progress
from infra.service import KafkaService

NAME = "connect"
DEBEZIUM_CLASSES = (
    "io.debezium.connector.postgresql.PostgresConnector",
    "io.debezium.connector.mariadb.MariaDbConnector",
)


def write_secrets(stack: LocalStackSettings) -> Path:
    path = secrets_file(stack)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(f"erp_cdc_password={stack.erp_cdc_password.get_secret_value()}\n")
        out.write(f"pos_cdc_password={stack.pos_cdc_password.get_secret_value()}\n")
    return path


def _write_config(stack: LocalStackSettings, kafka: KafkaSettings) -> Path:
    path = stack.data_dir / NAME / "connect-distributed.properties"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "\n".join(
            [
                f"bootstrap.servers={kafka.bootstrap_servers}",
                "group.id=atp-connect",
                "key.converter=org.apache.kafka.connect.json.JsonConverter",
                "value.converter=org.apache.kafka.connect.json.JsonConverter",
                "key.converter.schemas.enable=false",
                "value.converter.schemas.enable=false",
                "config.storage.topic=atp.connect-configs",
                "offset.storage.topic=atp.connect-offsets",
                "status.storage.topic=atp.connect-status",
                "config.storage.replication.factor=1",
                "offset.storage.replication.factor=1",
                "status.storage.replication.factor=1",
                "offset.flush.interval.ms=1000",
                f"listeners=http://127.0.0.1:{stack.connect_port}",
                "rest.advertised.host.name=127.0.0.1",
                f"rest.advertised.port={stack.connect_port}",
                f"plugin.path={java.plugins_dir(stack)}",
                "plugin.discovery=only_scan",
                "config.providers=file",
                "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
                "",
            ]
        )
    )
    return path


class Connect(KafkaService):
    """A distributed worker; healthy once its REST API lists both Debezium connector classes."""

    name = NAME

    @property
    def port(self) -> int:
        return self.stack.connect_port

    def _probe(self) -> bool:
        with urllib.request.urlopen(f"{self.stack.connect_url}/connector-plugins", timeout=3) as response:
            plugins = {p["class"] for p in orjson.loads(response.read())}
        return all(c in plugins for c in DEBEZIUM_CLASSES)

    def start(self, progress: Progress) -> None:
        write_secrets(self.stack)  # every start: a changed password reaches the connectors on restart
        super().start(progress)

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        config = _write_config(stack, self.kafka)
        process.start_detached(
            stack,
            NAME,
            [java.java(), "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dlog4j2.configurationFile={java.LOG4J_CONFIG}", f"-Datp.log.file={self.log}",
             "-cp", java.kafka_classpath(stack), "org.apache.kafka.connect.cli.ConnectDistributed", str(config)],
        )  # fmt: skip
