"""Kafka Connect 4.1.1 (distributed worker) with the Debezium PostgreSQL and MariaDB plugins.

Its config, offset and status topics live in our Kafka. Connector passwords are
never stored in the connector configs: they reference a 0600 secrets file
through Connect's FileConfigProvider (``${file:<path>:<key>}``).

Its REST API (127.0.0.1 only) asks every caller for HTTP basic auth: Kafka's
``BasicAuthSecurityRestExtension`` with a JAAS ``PropertyFileLoginModule`` over a 0600
file holding one user, ``atp``, whose password is generated at the first start
(``ATP_HOME/secrets/connect-rest.password``; :func:`connectors.cdc_connectors.connect_client`
reads it). Without it, ``/connectors``, ``/connector-plugins/.../config/validate`` (which
would resolve ``${file:...}`` references) and everything else answer 401. Kafka's
FileStream connectors (``connect-file``) are not installed, and not on the classpath.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from atp.settings import KafkaSettings, LocalStackSettings
from connectors.cdc_connectors import CONNECT_USER, connect_client, connect_password_file, secrets_file
from connectors.kafka_config import java_client_properties, sasl_password
from connectors.secret_files import ensure_secret, private_dir, write_private
from infra import java, process
from infra.process import Progress
from infra.service import KafkaService

NAME = "connect"
DEBEZIUM_CLASSES = (
    "io.debezium.connector.postgresql.PostgresConnector",
    "io.debezium.connector.mariadb.MariaDbConnector",
)


_CLIENTS = ("", "producer.", "consumer.", "admin.")
REST_EXTENSION = "org.apache.kafka.connect.rest.basic.auth.extension.BasicAuthSecurityRestExtension"
LOGIN_MODULE = "org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule"


def write_secrets(stack: LocalStackSettings, kafka: KafkaSettings) -> Path:
    """The passwords connector configs reference (``${file:...}``): the CDC users' and the Kafka SASL user's."""
    secrets = {
        "erp_cdc_password": stack.erp_cdc_password.get_secret_value(),
        "pos_cdc_password": stack.pos_cdc_password.get_secret_value(),
        "kafka_sasl_password": sasl_password(kafka) if kafka.security_protocol.startswith("SASL") else "",
    }
    return write_private(
        secrets_file(stack), "".join(f"{key}={java.properties_value(value)}\n" for key, value in secrets.items())
    )


def rest_users_file(stack: LocalStackSettings) -> Path:
    return stack.home / "secrets" / "connect-rest-users.properties"


def jaas_file(stack: LocalStackSettings) -> Path:
    return stack.home / "secrets" / "connect-jaas.conf"


def write_rest_credentials(stack: LocalStackSettings) -> Path:
    """The REST API's one user and its password (generated once), and the JAAS file naming them; all 0600."""
    password = ensure_secret(connect_password_file(stack))
    users = write_private(rest_users_file(stack), f"{CONNECT_USER}={password}\n")
    quoted = str(users).replace("\\", "\\\\").replace('"', '\\"')
    return write_private(jaas_file(stack), f'KafkaConnect {{\n  {LOGIN_MODULE} required\n  file="{quoted}";\n}};\n')


def _write_config(stack: LocalStackSettings, kafka: KafkaSettings) -> Path:
    path = private_dir(stack.data_dir / NAME) / "connect-distributed.properties"
    write_private(
        path,
        "\n".join(
            [
                # The worker and the producers, consumers and admin client it makes for connectors (Debezium's
                # change topics, topic creation) all talk to Kafka with atp's security settings.
                *(
                    f"{prefix}{key}={java.properties_value(value)}"
                    for prefix in _CLIENTS
                    for key, value in java_client_properties(kafka).items()
                ),
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
                f"rest.extension.classes={REST_EXTENSION}",
                "",
            ]
        ),
    )
    return path


def launch_argv(stack: LocalStackSettings, config: Path, log: Path) -> list[str]:
    return [
        java.java(), "-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-Djava.awt.headless=true",
        f"-Djava.security.auth.login.config={jaas_file(stack)}",
        f"-Dlog4j2.configurationFile={java.LOG4J_CONFIG}", f"-Datp.log.file={log}",
        "-cp", java.kafka_classpath(stack), "org.apache.kafka.connect.cli.ConnectDistributed", str(config),
    ]  # fmt: skip


def open_without_credentials(stack: LocalStackSettings) -> bool:
    """True when the worker answers ``GET /connectors`` to a caller without a credential (an older set-up)."""
    try:
        with urllib.request.urlopen(f"{stack.connect_url}/connectors", timeout=3) as response:
            return bool(response.status == 200)
    except OSError:  # 401 (HTTPError), or not answering at all
        return False


class Connect(KafkaService):
    """A distributed worker; healthy once its REST API lists both Debezium connector classes."""

    name = NAME

    @property
    def port(self) -> int:
        return self.stack.connect_port

    def _probe(self) -> bool:
        plugins = connect_client(self.stack, timeout_s=3).plugins()
        return all(c in plugins for c in DEBEZIUM_CLASSES)

    def start(self, progress: Progress) -> None:
        write_secrets(self.stack, self.kafka)  # every start: a changed password reaches the connectors on restart
        write_rest_credentials(self.stack)
        if self.running() and process.port_open(self.port) and open_without_credentials(self.stack):
            progress(f"  {NAME} answers without a credential (started before REST auth): restarting it")
            self.stop()
        super().start(progress)

    def _launch(self, progress: Progress) -> None:
        config = _write_config(self.stack, self.kafka)
        process.start_detached(self.stack, NAME, launch_argv(self.stack, config, self.log))
