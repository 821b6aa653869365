"""One running service: start (idempotent, health-checked), stop, health, status.

Each service module (``postgres``, ``mariadb``, ``kafka``, ``registry``, ``connect``)
defines a subclass. ``start`` is a no-op when the service already runs and answers;
otherwise it prepares its state under ``data_dir/<name>``, launches the process
detached (it outlives the caller) and waits for the health check, failing with
one :class:`atp.errors.ServiceError` line that names the service and its log.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from atp.errors import ServiceError
from atp.settings import KafkaSettings, LocalStackSettings
from infra import process
from infra.process import Progress


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    healthy: bool
    detail: str
    log: Path


class Service(ABC):
    name: ClassVar[str]

    def __init__(self, stack: LocalStackSettings) -> None:
        self.stack = stack

    # -- what each service says about itself --------------------------------------------
    @property
    @abstractmethod
    def port(self) -> int: ...

    @abstractmethod
    def _probe(self) -> bool:
        """True when the service answers its real protocol (may raise: that means not healthy)."""

    @abstractmethod
    def _launch(self, progress: Progress) -> None:
        """Prepare state (first start only) and start the process detached."""

    def _after_start(self, progress: Progress) -> None:
        """Idempotent set-up that needs the running service (users, grants); none by default."""
        return None

    # -- shared behaviour -----------------------------------------------------------------
    @property
    def log(self) -> Path:
        return process.log_file(self.stack, self.name)

    @property
    def data(self) -> Path:
        return self.stack.data_dir / self.name

    def running(self) -> bool:
        """Our process is alive (its pid file names a live process)."""
        return process.running_pid(self.stack, self.name) is not None

    def health(self) -> bool:
        if not process.port_open(self.port):
            return False
        try:
            return self._probe()
        except Exception:  # noqa: BLE001 - any failure of a probe means "not healthy"
            return False

    def start(self, progress: Progress) -> None:
        if self.running() and self.health():
            progress(f"  {self.name} already running and healthy")
        else:
            if not self.running():
                progress(f"  starting {self.name} on 127.0.0.1:{self.port} (log {self.log})")
                try:
                    self._launch(progress)
                except ServiceError as exc:
                    raise ServiceError(f"{self.name} could not start: {exc}; see {self.log}") from exc
            process.wait_healthy(self.stack, self.name, self.health, progress, self.log, alive=self.running)
        self._after_start(progress)

    def stop(self) -> None:
        process.stop(self.stack, self.name)

    def status(self) -> ServiceStatus:
        ok = self.health()
        detail = f"127.0.0.1:{self.port}" + ("" if ok else " not answering") + f"  log {self.log}"
        return ServiceStatus(self.name, ok, detail, self.log)


class KafkaService(Service):
    """A service that is the broker or a client of it: it also needs the Kafka part of the settings."""

    def __init__(self, stack: LocalStackSettings, kafka: KafkaSettings) -> None:
        super().__init__(stack)
        self.kafka = kafka
