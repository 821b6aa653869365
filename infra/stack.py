"""The whole stack: install, up, down, status. Every step is idempotent.

Start order: the legacy databases first (they are the sources), then Kafka, then
what lives on Kafka (the registry's KafkaSQL journal, Connect's internal topics).
After the services, the source schemas (``schemas/sources/*.sql``) are applied as
the owners and the CDC users get their read-only grants and publication.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from atp.settings import Settings
from infra import java, mariadb, postgres
from infra.connect import Connect
from infra.kafka import Kafka
from infra.mariadb import MariaDb
from infra.postgres import Postgres
from infra.registry import Registry
from infra.service import Service, ServiceStatus

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


def service_objects(settings: Settings, names: Iterable[str] | None = None) -> list[Service]:
    """The services named (all by default), in start order."""
    wanted = set(SERVICES if names is None else names)
    unknown = wanted - set(SERVICES)
    if unknown:
        from atp.errors import ConfigError

        raise ConfigError(f"unknown service(s) {sorted(unknown)}; known: {', '.join(SERVICES)}")
    return [_CLASSES[name](settings) for name in SERVICES if name in wanted]


def install(settings: Settings, progress: Progress) -> None:
    """Fetch Kafka, Connect, Debezium and Apicurio with Maven into ``settings.lib_dir`` (idempotent)."""
    java.install(settings, progress)


def apply_source_schemas(settings: Settings, names: Iterable[str] | None = None) -> None:
    """Run ``schemas/sources/{pos,erp}.sql`` as the owners, then the CDC grants and publication (idempotent)."""
    wanted = set(SERVICES if names is None else names)
    if "postgres" in wanted:
        postgres.apply_schema(settings)
    if "mariadb" in wanted:
        mariadb.apply_schema(settings)


def up(settings: Settings, progress: Progress, services: Iterable[str] | None = None) -> None:
    """Start the services (all by default) in order, each health-checked; then the source schemas."""
    names = list(SERVICES if services is None else services)
    if {"kafka", "registry", "connect"} & set(names):
        install(settings, progress)
    for service in service_objects(settings, names):
        service.start(progress)
    if {"postgres", "mariadb"} & set(names):
        apply_source_schemas(settings, names)
        progress("  source schemas applied (ERP erp.*, POS public.*) with read-only CDC grants")


def down(settings: Settings) -> None:
    """Stop every service, last started first (each stop waits until the process is gone)."""
    for service in reversed(service_objects(settings)):
        service.stop()


def status(settings: Settings) -> list[ServiceStatus]:
    return [service.status() for service in service_objects(settings)]
