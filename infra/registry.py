"""Apicurio Registry 3.3.3: the schema registry, used through its Confluent-compatible API.

Storage is KafkaSQL (a journal topic in our Kafka), so schema ids survive a
registry restart, as they must: every record on an output topic names its id.
We create the journal topics ourselves before the first start: one partition (one
total order of registry writes) and no time- or size-based deletion. Both HTTP
ports are bound to 127.0.0.1.

ccompat ids: ``legacy-id-mode`` is on, so the id the Confluent API hands out is
Apicurio's *global* id, one per registered version. Unlike Confluent's registry, the
same schema text registered under two subjects gets two ids (both resolve). Stacks
created with this mode must keep it: switching it re-maps existing ids.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from atp.errors import ServiceError
from atp.settings import KafkaSettings, LocalStackSettings
from connectors.kafka_config import client_config, java_security_properties
from connectors.secret_files import private_dir, write_private
from connectors.topics import create_missing
from infra import java, process
from infra.process import Progress
from infra.service import KafkaService

NAME = "registry"
JOURNAL_TOPIC = "atp.registry-journal"
SNAPSHOTS_TOPIC = "atp.registry-snapshots"
# Apicurio refuses compacted journals; keep every message forever.
_KEEP_FOREVER = {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}


def storage_dir(stack: LocalStackSettings) -> Path:
    """The registry's snapshot folder (0700)."""
    return private_dir(stack.data_dir / NAME)


def _ensure_journal_topics(kafka: KafkaSettings) -> None:
    create_missing(
        AdminClient(client_config(kafka)),
        [
            NewTopic(topic, num_partitions=1, replication_factor=1, config=_KEEP_FOREVER)
            for topic in (JOURNAL_TOPIC, SNAPSHOTS_TOPIC)
        ],
        lambda topic, exc: ServiceError(f"registry: could not create its journal topic {topic}: {exc}"),
        operation_timeout=10,
    )


def _write_storage_config(data: Path, kafka: KafkaSettings) -> Path:
    """The KafkaSQL storage's clients (producer, consumer, admin) with atp's Kafka security, in the
    ``config/application.properties`` Quarkus reads from the working directory (0600; the SASL password
    is in it, so it is never on a command line)."""
    security = java_security_properties(kafka)
    lines = [
        f"apicurio.kafkasql.{client}.{key}={java.properties_value(value)}"
        for client in ("producer", "consumer", "admin")
        for key, value in security.items()
    ]
    return write_private(private_dir(data / "config") / "application.properties", "\n".join(lines) + "\n")


def storage_properties(bootstrap_servers: str, snapshot_dir: str) -> dict[str, str]:
    """Apicurio's storage and API settings, the same wherever it runs (here as -D flags; in a cluster,
    infra.deploy passes them as Quarkus environment variables)."""
    return {
        "apicurio.storage.kind": "kafkasql",
        "apicurio.kafkasql.bootstrap.servers": bootstrap_servers,
        "apicurio.kafkasql.topic": JOURNAL_TOPIC,
        "apicurio.kafkasql.snapshots.topic": SNAPSHOTS_TOPIC,
        "apicurio.storage.snapshot.location": snapshot_dir,
        "apicurio.ccompat.legacy-id-mode.enabled": "true",
    }


def journal_topic_config() -> dict[str, str]:
    """The journal topics' retention: every message forever."""
    return dict(_KEEP_FOREVER)


class Registry(KafkaService):
    name = NAME

    @property
    def port(self) -> int:
        return self.stack.registry_port

    def _probe(self) -> bool:
        with urllib.request.urlopen(f"{self.kafka.registry_url}/subjects", timeout=2) as response:
            return bool(response.status == 200)

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        _ensure_journal_topics(self.kafka)
        storage_dir(stack)
        _write_storage_config(self.data, self.kafka)
        storage = storage_properties(self.kafka.bootstrap_servers, str(self.data))
        process.start_detached(
            stack,
            NAME,
            [java.java_21(), "-Xms128m", "-Xmx512m",
             "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={stack.registry_port}",
             "-Dquarkus.management.host=127.0.0.1", f"-Dquarkus.management.port={stack.registry_management_port}",
             *(f"-D{name}={value}" for name, value in storage.items()),
             "-Dquarkus.log.level=INFO",
             "-jar", str(java.apicurio_jar(stack))],
            cwd=self.data,
        )  # fmt: skip
