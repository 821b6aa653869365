"""The one place Kafka client settings are built, so every client (producers, consumers, admin, the
dataflow's source and sink) talks to the cluster the same way: plain, TLS, or SASL over either."""

from __future__ import annotations

from atp.settings import KafkaSettings


def client_config(kafka: KafkaSettings) -> dict[str, str | int | float | bool]:
    """librdkafka settings for ``kafka``'s cluster and security (secrets read here, never logged)."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
    }
    if kafka.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = kafka.sasl_mechanism
        config["sasl.username"] = kafka.sasl_username
        config["sasl.password"] = kafka.sasl_password.get_secret_value()
    if kafka.security_protocol.endswith("SSL") and kafka.ssl_ca_file is not None:
        config["ssl.ca.location"] = str(kafka.ssl_ca_file)
    return config
