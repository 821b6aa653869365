"""The one place Kafka client settings are built, so every client talks to the cluster the same way:
plain, TLS, or SASL over either. ``client_config`` is for librdkafka (producers, consumers, admin
clients, the dataflow's source and sink); ``java_client_properties`` is the same for the Java
clients the local stack starts (Kafka Connect's worker and its producers, consumers and admin
client, Debezium's schema history, the registry's KafkaSQL storage)."""

from __future__ import annotations

from atp.settings import KafkaSettings
from connectors.secret_files import read_secret


def sasl_password(kafka: KafkaSettings) -> str:
    """The SASL password: the one given, or the local broker's generated one (read here, never logged)."""
    given = kafka.sasl_password.get_secret_value()
    if given or kafka.sasl_password_file is None:
        return given
    return read_secret(kafka.sasl_password_file, "kafka SASL password")


def client_config(kafka: KafkaSettings) -> dict[str, str | int | float | bool]:
    """librdkafka settings for ``kafka``'s cluster and security (secrets read here, never logged)."""
    config: dict[str, str | int | float | bool] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
    }
    if kafka.security_protocol.startswith("SASL"):
        config["sasl.mechanism"] = kafka.sasl_mechanism
        config["sasl.username"] = kafka.sasl_username
        config["sasl.password"] = sasl_password(kafka)
    if kafka.security_protocol.endswith("SSL") and kafka.ssl_ca_file is not None:
        config["ssl.ca.location"] = str(kafka.ssl_ca_file)
    return config


_LOGIN_MODULES = {
    "PLAIN": "org.apache.kafka.common.security.plain.PlainLoginModule",
    "SCRAM-SHA-256": "org.apache.kafka.common.security.scram.ScramLoginModule",
    "SCRAM-SHA-512": "org.apache.kafka.common.security.scram.ScramLoginModule",
}


def jaas_quote(value: str) -> str:
    """``value`` as a quoted JAAS option value (quotes and backslashes escaped as JAAS reads them)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jaas_config(module: str, username: str, password: str) -> str:
    """A JAAS line logging in as ``username``."""
    return f"{module} required username={jaas_quote(username)} password={jaas_quote(password)};"


def java_security_properties(kafka: KafkaSettings, password: str | None = None) -> dict[str, str]:
    """Kafka's Java client security settings matching :func:`client_config`'s (no address: for clients whose
    address is set apart, such as Debezium's schema history and the registry's storage).

    ``password``: what to write in place of the SASL password, e.g. a Connect ``${file:...}``
    reference, so the secret itself never lands in a stored connector config."""
    properties: dict[str, str] = {"security.protocol": kafka.security_protocol}
    if kafka.security_protocol.startswith("SASL"):
        properties["sasl.mechanism"] = kafka.sasl_mechanism
        properties["sasl.jaas.config"] = jaas_config(
            _LOGIN_MODULES[kafka.sasl_mechanism], kafka.sasl_username, password or sasl_password(kafka)
        )
    if kafka.security_protocol.endswith("SSL") and kafka.ssl_ca_file is not None:
        properties["ssl.truststore.type"] = "PEM"
        properties["ssl.truststore.location"] = str(kafka.ssl_ca_file)
    return properties


def java_client_properties(kafka: KafkaSettings) -> dict[str, str]:
    """Kafka's Java client settings for the same cluster and security as :func:`client_config`."""
    return {"bootstrap.servers": kafka.bootstrap_servers, **java_security_properties(kafka)}
