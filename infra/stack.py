"""The whole stack: install, up, down, status. Every step is idempotent.

Start order: the legacy databases first (they are the sources), then Kafka, then
what lives on Kafka (the registry's KafkaSQL journal, Connect's internal topics).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from atp.settings import Settings
from infra import connect, java, kafka, mariadb, postgres, process, registry

Progress = Callable[[str], None]

SERVICES = ("postgres", "mariadb", "kafka", "registry", "connect")


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    healthy: bool
    detail: str
    log: Path


def install(settings: Settings, progress: Progress) -> None:
    java.install(settings, progress)


def up(settings: Settings, progress: Progress, services: tuple[str, ...] = SERVICES) -> None:
    install(settings, progress)
    starters: dict[str, Callable[[Settings, Progress], None]] = {
        "postgres": postgres.start,
        "mariadb": mariadb.start,
        "kafka": kafka.start,
        "registry": registry.start,
        "connect": connect.start,
    }
    for name in SERVICES:
        if name in services:
            progress(f"  starting {name} ...")
            starters[name](settings, progress)
    if "postgres" in services:
        postgres.apply_schema(settings)
    if "mariadb" in services:
        mariadb.apply_schema(settings)
    progress("  source schemas applied (ERP erp.*, POS public.*) with read-only CDC grants")


def down(settings: Settings) -> None:
    for name in reversed(SERVICES):
        if name == "postgres":
            postgres.stop(settings)
        else:
            process.stop(settings, name, timeout_s=60 if name == "mariadb" else 30)


def _probe(check: Callable[[Settings], bool], settings: Settings) -> bool:
    try:
        return check(settings)
    except Exception:  # noqa: BLE001 - a failing probe is an unhealthy service
        return False


def status(settings: Settings) -> list[ServiceStatus]:
    checks: dict[str, tuple[Callable[[Settings], bool], int]] = {
        "postgres": (postgres.healthy, settings.postgres_port),
        "mariadb": (mariadb.healthy, settings.mariadb_port),
        "kafka": (kafka.healthy, settings.kafka_port),
        "registry": (registry.healthy, settings.registry_port),
        "connect": (connect.healthy, settings.connect_port),
    }
    result = []
    for name in SERVICES:
        check, port = checks[name]
        ok = _probe(check, settings)
        detail = f"127.0.0.1:{port}" + ("" if ok else " not answering")
        result.append(
            ServiceStatus(
                name, ok, f"{detail}  log {process.log_file(settings, name)}", process.log_file(settings, name)
            )
        )
    return result
