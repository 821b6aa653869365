"""Apache Kafka 4.1.1, one KRaft node (broker and controller in one process), on 127.0.0.1."""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from confluent_kafka.admin import AdminClient

from atp.errors import ServiceError
from atp.settings import KafkaSettings, LocalStackSettings
from connectors.secret_files import PRIVATE_UMASK, private_dir, write_private
from infra import java, process
from infra.process import Progress
from infra.service import KafkaService

NAME = "kafka"


def _config(stack: LocalStackSettings) -> Path:
    return stack.data_dir / NAME / "server.properties"


def _write_config(stack: LocalStackSettings, kafka: KafkaSettings) -> Path:
    logs = private_dir(stack.data_dir / NAME / "log")  # the topics' data: 0700, like the folder above it
    path = _config(stack)
    private_dir(path.parent)
    write_private(
        path,
        "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{stack.kafka_controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{stack.kafka_port},CONTROLLER://127.0.0.1:{stack.kafka_controller_port},"
                f"SASL_PLAINTEXT://127.0.0.1:{stack.kafka_sasl_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{stack.kafka_port},"
                f"SASL_PLAINTEXT://127.0.0.1:{stack.kafka_sasl_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
                # A SASL/PLAIN listener with one user, so clients' SASL settings can be tried against the real
                # broker (tests/integration/test_least_privilege.py). Production clusters bring their own.
                "sasl.enabled.mechanisms=PLAIN",
                "listener.name.sasl_plaintext.plain.sasl.jaas.config="
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'user_{kafka.sasl_username}="{kafka.sasl_password.get_secret_value()}";',
                f"log.dirs={logs}",
                "num.partitions=4",
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
        return self.stack.kafka_port

    def _probe(self) -> bool:
        admin = AdminClient(
            {"bootstrap.servers": self.kafka.bootstrap_servers, "socket.timeout.ms": 2000, "log_level": 0}
        )  # a probe: not-yet-up is expected, so no librdkafka noise on stderr
        metadata = admin.list_topics(timeout=2)
        return len(metadata.brokers) > 0

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        config = _write_config(stack, self.kafka)
        _format_storage(stack, config)
        process.start_detached(
            stack,
            NAME,
            [java.java(), "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dlog4j2.configurationFile={java.LOG4J_CONFIG}", f"-Datp.log.file={self.log}",
             "-cp", java.kafka_classpath(stack), "kafka.Kafka", str(config)],
        )  # fmt: skip
