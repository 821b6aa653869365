"""The whole stack: install, up, down, status. Every step is idempotent.

Start order: the legacy databases first (they are the sources), then Kafka, then
what lives on Kafka (the registry's KafkaSQL journal, Connect's internal topics).
After the services, the source schemas (``schemas/sources/*.sql``) are applied as
the owners and the CDC users get their read-only grants and publication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from atp.settings import KafkaSettings, LocalStackSettings
from infra import java, mariadb, postgres
from infra.connect import Connect
from infra.kafka import Kafka
from infra.mariadb import MariaDb
from infra.postgres import Postgres
from infra.registry import Registry
from infra.service import KafkaService, Service, ServiceStatus

Progress = Callable[[str], None]

SERVICES = ("postgres", "mariadb", "kafka", "registry", "connect")
_CLASSES: dict[str, type[Service]] = {
    "postgres": Postgres,
    "mariadb": MariaDb,
    "kafka": Kafka,
    "registry": Registry,
    "connect": Connect,
}

__all__ = ["SERVICES", "ServiceStatus", "apply_source_schemas", "down", "install", "service_objects", "status", "up"]


def service_objects(
    stack: LocalStackSettings, kafka: KafkaSettings, names: Iterable[str] | None = None
) -> list[Service]:
    """The services named (all by default), in start order."""
    wanted = set(SERVICES if names is None else names)
    unknown = wanted - set(SERVICES)
    if unknown:
        from atp.errors import ConfigError

        raise ConfigError(f"unknown service(s) {sorted(unknown)}; known: {', '.join(SERVICES)}")
    return [_service(_CLASSES[name], stack, kafka) for name in SERVICES if name in wanted]


def _service(kind: type[Service], stack: LocalStackSettings, kafka: KafkaSettings) -> Service:
    return kind(stack, kafka) if issubclass(kind, KafkaService) else kind(stack)


def install(stack: LocalStackSettings, progress: Progress) -> None:
    """Fetch Kafka, Connect, Debezium and Apicurio with Maven into ``stack.lib_dir`` (idempotent)."""
    java.install(stack, progress)


def apply_source_schemas(stack: LocalStackSettings, names: Iterable[str] | None = None) -> None:
    """Run ``schemas/sources/{pos,erp}.sql`` as the owners, then the CDC grants and publication (idempotent)."""
    wanted = set(SERVICES if names is None else names)
    if "postgres" in wanted:
        postgres.apply_schema(stack)
    if "mariadb" in wanted:
        mariadb.apply_schema(stack)


def up(
    stack: LocalStackSettings, kafka: KafkaSettings, progress: Progress, services: Iterable[str] | None = None
) -> None:
    """Start the services (all by default) in order, each health-checked; then the source schemas."""
    names = list(SERVICES if services is None else services)
    if {"kafka", "registry", "connect"} & set(names):
        install(stack, progress)
    for service in service_objects(stack, kafka, names):
        service.start(progress)
    if {"postgres", "mariadb"} & set(names):
        apply_source_schemas(stack, names)
        progress("  source schemas applied (ERP erp.*, POS public.*) with read-only CDC grants")


def down(stack: LocalStackSettings, kafka: KafkaSettings) -> None:
    """Stop every service, last started first (each stop waits until the process is gone)."""
    for service in reversed(service_objects(stack, kafka)):
        service.stop()


def status(stack: LocalStackSettings, kafka: KafkaSettings) -> list[ServiceStatus]:
    return [service.status() for service in service_objects(stack, kafka)]
