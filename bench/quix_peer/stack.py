"""The peer bench's own Kafka broker: its own ATP_HOME and ports, so no other stack is touched.

.venv/bin/python -m bench.quix_peer.stack up|down|status
"""

from __future__ import annotations

import os
import sys

from atp.settings import PROJECT_ROOT, Settings, load_settings

QUIX_HOME = PROJECT_ROOT / ".atp" / "quix"
QUIX_ENVIRONMENT = {
    "ATP_HOME": str(QUIX_HOME),
    "ATP_KAFKA_PORT": "49092",
    "ATP_KAFKA_CONTROLLER_PORT": "49093",
    "ATP_KAFKA_SASL_PORT": "49094",
    "ATP_KAFKA_SSL_PORT": "49095",
    # The peer's clients (Quix Streams and ours, side by side) talk plain Kafka on this broker.
    "ATP_KAFKA_SECURITY_PROTOCOL": "PLAINTEXT",
    "ATP_REGISTRY_PORT": "49081",
    "ATP_REGISTRY_MANAGEMENT_PORT": "49091",
    "ATP_FLOW_METRICS_PORT": "0",
    "ATP_PIPELINE_METRICS_PORT": "0",
    # Both engines replay a backlog here: a reservation may reach its step before the LOCATION or
    # CHANNEL_LISTING row it names, and must not be dead-lettered by the wall-clock wait meanwhile.
    "ATP_UNRESOLVED_WAIT_S": "3600",
}
BOOTSTRAP = "127.0.0.1:49092"


def quix_settings() -> Settings:
    """Settings of the peer bench's stack; child processes inherit the same environment."""
    os.environ.update(QUIX_ENVIRONMENT)
    return load_settings()


def main(argv: list[str]) -> int:
    from infra.kafka import Kafka
    from infra.registry import Registry

    if len(argv) != 1 or argv[0] not in {"up", "down", "status", "registry-up"}:
        print("usage: python -m bench.quix_peer.stack up|registry-up|down|status", file=sys.stderr)
        return 2
    settings = quix_settings()
    kafka, registry = Kafka(settings.stack, settings.kafka), Registry(settings.stack, settings.kafka)
    if argv[0] == "up":
        kafka.start(print)
    elif argv[0] == "registry-up":
        kafka.start(print)
        registry.start(print)
    elif argv[0] == "down":
        registry.stop()
        kafka.stop()
    else:
        for service in (kafka, registry):
            print(service.status())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
