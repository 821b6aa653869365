"""The one place Kafka client settings are built, so every client (producers, consumers, admin, the
dataflow's source and sink) talks to the cluster the same way: plain, TLS, or SASL over either."""

from __future__ import annotations

from atp.settings import Settings


def client_config(settings: Settings) -> dict[str, str | int | float | bool]:
    """librdkafka settings for ``settings``' cluster and security (secrets read here, never logged)."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": settings.bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = settings.kafka_sasl_mechanism
        config["sasl.username"] = settings.kafka_sasl_username
        config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol.endswith("SSL") and settings.kafka_ssl_ca_file is not None:
        config["ssl.ca.location"] = str(settings.kafka_ssl_ca_file)
    return config
