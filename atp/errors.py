"""One root exception; each layer raises its own subclass and chains the cause."""

from __future__ import annotations


class AtpError(Exception):
    """Root of every error atp-stream raises on purpose."""


class ConfigError(AtpError):
    """A setting or CLI argument is wrong; the message names it in one line."""


class ServiceError(AtpError):
    """A real service (Kafka, Connect, registry, PostgreSQL, MariaDB) failed to start or answer."""


class InputError(AtpError):
    """An input record the pipeline cannot use. Carries a short machine reason for the dead-letter topic."""

    def __init__(self, reason: str, detail: str, fail_safe: tuple[object, ...] = ()) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        # What to apply anyway so that dropping this input cannot leave a higher promise standing
        # (e.g. a stock row with a negative quantity zeroes that row). Domain events, decided by the decoder.
        self.fail_safe = fail_safe


class CdcDecodeError(InputError):
    """A Debezium change event that is malformed or carries values we cannot interpret."""


class StoreError(AtpError):
    """The ClickHouse store (chdb or server) refused a statement."""
