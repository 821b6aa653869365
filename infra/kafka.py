"""Apache Kafka 4.1.1, one KRaft node (broker and controller in one process), on 127.0.0.1."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from atp.errors import ServiceError
from atp.settings import KafkaSettings, LocalStackSettings
from connectors.kafka_config import client_config, jaas_quote, sasl_password
from connectors.secret_files import PRIVATE_UMASK, ensure_secret, private_dir, write_private
from infra import java, process
from infra.process import Progress
from infra.service import KafkaService
from infra.tls import ensure_certificates, tls_files

NAME = "kafka"
PLAIN_LOGIN_MODULE = "org.apache.kafka.common.security.plain.PlainLoginModule"


def _config(stack: LocalStackSettings) -> Path:
    return stack.data_dir / NAME / "server.properties"


def _listeners(stack: LocalStackSettings) -> dict[str, tuple[str, int]]:
    """Listener name -> (security protocol, port). PLAINTEXT only when the clients are set to use it."""
    listeners = {
        "CONTROLLER": ("SASL_PLAINTEXT", stack.kafka_controller_port),
        "SASL_PLAINTEXT": ("SASL_PLAINTEXT", stack.kafka_sasl_port),
        "SASL_SSL": ("SASL_SSL", stack.kafka_ssl_port),
    }
    if stack.kafka_plaintext_listener:
        listeners["PLAINTEXT"] = ("PLAINTEXT", stack.kafka_port)
    return listeners


def _write_config(stack: LocalStackSettings, kafka: KafkaSettings) -> Path:
    logs = private_dir(stack.data_dir / NAME / "log")  # the topics' data: 0700, like the folder above it
    path = _config(stack)
    private_dir(path.parent)
    tls = tls_files(stack)
    listeners = _listeners(stack)
    # One SASL/PLAIN user: atp's clients log in as it, and so does the broker to its own controller and
    # inter-broker listeners (the username/password options; user_<name> is the account the listener accepts).
    user, password = kafka.sasl_username, jaas_quote(sasl_password(kafka))
    jaas = f"{PLAIN_LOGIN_MODULE} required username={jaas_quote(user)} password={password} user_{user}={password};"
    write_private(
        path,
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{stack.kafka_controller_port}",
                "listeners=" + ",".join(f"{name}://127.0.0.1:{port}" for name, (_, port) in listeners.items()),
                "advertised.listeners="
                + ",".join(
                    f"{name}://127.0.0.1:{port}" for name, (_, port) in listeners.items() if name != "CONTROLLER"
                ),
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=SASL_PLAINTEXT",
                "listener.security.protocol.map="
                + ",".join(f"{name}:{protocol}" for name, (protocol, _) in listeners.items()),
                "sasl.enabled.mechanisms=PLAIN",
                "sasl.mechanism.inter.broker.protocol=PLAIN",
                "sasl.mechanism.controller.protocol=PLAIN",
                *(
                    f"listener.name.{name.lower()}.plain.sasl.jaas.config={jaas}"
                    for name, (proto, _) in listeners.items()
                    if proto.startswith("SASL")
                ),
                # Kafka's PEM key store (KIP-651): the broker's unencrypted PKCS#8 key, certificate and CA in one
                # 0600 file (infra/tls.py); clients verify it against the CA.
                "listener.name.sasl_ssl.ssl.keystore.type=PEM",
                f"listener.name.sasl_ssl.ssl.keystore.location={tls.broker_key_store}",
                f"log.dirs={logs}",
                # A topic made on first write (none of the pipeline's: atp.bootstrap creates them) is split as they are.
                f"num.partitions={kafka.input_partitions}",
                "auto.create.topics.enable=true",
                "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1",
                "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0",
                "log.retention.hours=168",
                "",
            ]
        ),
    )  # 0600: it holds the SASL user's password
    return path


def _format_storage(stack: LocalStackSettings, config: Path) -> None:
    if (stack.data_dir / NAME / "log" / "meta.properties").exists():
        return
    # URL-safe base64 may start with "-": passed as --cluster-id=<id> so it is never read as an option.
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    result = subprocess.run(
        [java.java(), "-cp", java.kafka_classpath(stack), f"-Dlog4j2.configurationFile={java.LOG4J_CONFIG}",
         f"-Datp.log.file={process.log_file(stack, NAME)}",
         "kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}", "-c", str(config)],
        capture_output=True,
        text=True,
        umask=PRIVATE_UMASK,
    )  # fmt: skip
    if result.returncode != 0:
        raise ServiceError(f"kafka: formatting storage failed: {(result.stdout + result.stderr).strip()[-300:]}")


class Kafka(KafkaService):
    """Broker and KRaft controller in one JVM; storage formatted on the first start."""

    name = NAME

    @property
    def port(self) -> int:
        return self.stack.kafka_ssl_port  # always open; PLAINTEXT only when chosen

    def _probe(self) -> bool:
        admin = AdminClient(
            client_config(self.kafka) | {"socket.timeout.ms": 2000, "log_level": 0}
        )  # a probe: not-yet-up is expected, so no librdkafka noise on stderr
        metadata = admin.list_topics(timeout=2)
        return len(metadata.brokers) > 0

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        if self.kafka.sasl_password_file is not None:
            ensure_secret(self.kafka.sasl_password_file)  # the local SASL user's password, made on the first start
        ensure_certificates(stack)
        config = _write_config(stack, self.kafka)
        _format_storage(stack, config)
        process.start_detached(
            stack,
            NAME,
            [java.java(), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dlog4j2.configurationFile={java.LOG4J_CONFIG}", f"-Datp.log.file={self.log}",
             "-cp", java.kafka_classpath(stack), "kafka.Kafka", str(config)],
        )  # fmt: skip
