"""Apicurio Registry 3.3.3: the schema registry, used through its Confluent-compatible API.

Storage is KafkaSQL (a journal topic in our Kafka), so schema ids survive a
registry restart, as they must: every record on an output topic names its id.
Both HTTP ports are bound to 127.0.0.1.
"""

from __future__ import annotations

import urllib.request

from atp.settings import Settings
from infra import java, process

NAME = "registry"


def healthy(settings: Settings) -> bool:
    if not process.port_open(settings.registry_port):
        return False
    with urllib.request.urlopen(f"{settings.registry_url}/subjects", timeout=2) as response:
        return bool(response.status == 200)


def start(settings: Settings, progress: process.Progress) -> None:
    if process.running_pid(settings, NAME) is None:
        work = settings.data_dir / NAME
        work.mkdir(parents=True, exist_ok=True)
        process.start_detached(
            settings,
            NAME,
            [java.java_21(), "-Xms128m", "-Xmx512m",
             "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={settings.registry_port}",
             "-Dquarkus.management.host=127.0.0.1", f"-Dquarkus.management.port={settings.registry_management_port}",
             "-Dapicurio.storage.kind=kafkasql",
             f"-Dapicurio.kafkasql.bootstrap.servers={settings.bootstrap_servers}",
             "-Dapicurio.kafkasql.topic=atp.registry-journal",
             "-Dapicurio.kafkasql.snapshots.topic=atp.registry-snapshots",
             "-Dapicurio.ccompat.legacy-id-mode.enabled=true",
             "-Dquarkus.log.level=INFO",
             "-jar", str(java.apicurio_jar(settings))],
            cwd=work,
        )  # fmt: skip
    process.wait_healthy(settings, NAME, lambda: healthy(settings), progress)
