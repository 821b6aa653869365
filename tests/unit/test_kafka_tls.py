"""The local broker's TLS and SASL, and every Java client of the stack following atp's Kafka security settings.

The certificates are made by the real ``openssl``; the live round trip (clients, Connect, the registry's
storage over SASL_SSL) is in tests/integration/test_security.py.
"""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest
from pydantic import SecretStr

from atp.settings import Settings, settings_from_fields
from connectors.cdc_connectors import erp_config, secrets_file
from connectors.kafka_config import client_config, jaas_quote, java_client_properties
from connectors.secret_files import ensure_secret
from infra import connect, kafka, registry
from infra.tls import ensure_certificates


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = settings_from_fields(home=tmp_path / "home", lib_dir=tmp_path / "lib")
    assert settings.kafka.sasl_password_file is not None
    ensure_secret(settings.kafka.sasl_password_file)  # what the broker's first start makes
    return settings


def _openssl(*args: str) -> str:
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=True).stdout


def test_the_broker_certificate_is_signed_by_the_local_ca_for_the_loopback_address(settings: Settings) -> None:
    files = ensure_certificates(settings.stack)
    assert "OK" in _openssl("verify", "-CAfile", str(files.ca_certificate), str(files.broker_key_store))
    names = _openssl("x509", "-in", str(files.broker_key_store), "-noout", "-ext", "subjectAltName")
    assert "IP Address:127.0.0.1" in names and "DNS:localhost" in names
    key_store = files.broker_key_store.read_text()
    assert key_store.startswith("-----BEGIN PRIVATE KEY-----")  # unencrypted PKCS#8, as Kafka's PEM store reads it
    assert key_store.count("-----BEGIN CERTIFICATE-----") == 2  # the broker's, then the CA's
    for path in settings.stack.tls_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(settings.stack.tls_dir.stat().st_mode) == 0o700


def test_certificates_are_made_once_and_kept(settings: Settings) -> None:
    first = ensure_certificates(settings.stack)
    ca, key_store = first.ca_certificate.read_bytes(), first.broker_key_store.read_bytes()
    again = ensure_certificates(settings.stack)
    assert (again.ca_certificate.read_bytes(), again.broker_key_store.read_bytes()) == (ca, key_store)


def test_the_broker_listens_authenticated_only_unless_plaintext_is_chosen(settings: Settings) -> None:
    lines = kafka._write_config(settings.stack, settings.kafka).read_text().splitlines()
    listeners = next(line for line in lines if line.startswith("listeners="))
    assert "PLAINTEXT://" not in listeners.replace("SASL_PLAINTEXT://", "")
    assert f"SASL_SSL://127.0.0.1:{settings.stack.kafka_ssl_port}" in listeners
    assert (
        "listener.security.protocol.map=CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL"
        in lines
    )
    assert "listener.name.sasl_ssl.ssl.keystore.type=PEM" in lines

    plain = settings_from_fields(home=settings.stack.home, kafka_security_protocol="PLAINTEXT")
    lines = kafka._write_config(plain.stack, plain.kafka).read_text().splitlines()
    assert f"PLAINTEXT://127.0.0.1:{plain.stack.kafka_port}" in next(
        line for line in lines if line.startswith("listeners=")
    )


def test_java_clients_get_the_same_security_as_librdkafka_clients(settings: Settings) -> None:
    librdkafka = client_config(settings.kafka)
    java = java_client_properties(settings.kafka)
    assert java["security.protocol"] == librdkafka["security.protocol"] == "SASL_SSL"
    assert java["ssl.truststore.location"] == librdkafka["ssl.ca.location"] == str(settings.kafka.ssl_ca_file)
    assert java["ssl.truststore.type"] == "PEM"
    assert jaas_quote(str(librdkafka["sasl.password"])) in java["sasl.jaas.config"]


def test_a_password_with_quotes_survives_the_jaas_line() -> None:
    kafka = settings_from_fields(
        kafka_bootstrap="kafka.internal:9094", kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_password=SecretStr('pa"ss\\word'),
    ).kafka  # fmt: skip
    assert 'password="pa\\"ss\\\\word";' in java_client_properties(kafka)["sasl.jaas.config"]


def test_connect_and_its_connectors_clients_talk_sasl_ssl(settings: Settings) -> None:
    lines = connect._write_config(settings.stack, settings.kafka).read_text().splitlines()
    for prefix in ("", "producer.", "consumer.", "admin."):
        assert f"{prefix}security.protocol=SASL_SSL" in lines, prefix
        assert any(line.startswith(f"{prefix}sasl.jaas.config=") for line in lines), prefix


def test_debeziums_schema_history_talks_sasl_ssl_and_stores_a_reference_not_the_password(settings: Settings) -> None:
    config = erp_config(settings.stack, settings.kafka)
    reference = "${file:" + str(secrets_file(settings.stack)) + ":kafka_sasl_password}"
    password = str(client_config(settings.kafka)["sasl.password"])
    for client in ("producer", "consumer"):
        assert config[f"schema.history.internal.{client}.security.protocol"] == "SASL_SSL"
        assert reference in config[f"schema.history.internal.{client}.sasl.jaas.config"]
    assert not any(password in value for value in config.values())
    connect.write_secrets(settings.stack, settings.kafka)
    assert f"kafka_sasl_password={password}" in secrets_file(settings.stack).read_text().splitlines()


def test_the_registry_storage_talks_sasl_ssl_from_a_private_file(settings: Settings) -> None:
    path = registry._write_storage_config(registry.storage_dir(settings.stack), settings.kafka)
    lines = path.read_text().splitlines()
    for client in ("producer", "consumer", "admin"):
        assert f"apicurio.kafkasql.{client}.security.protocol=SASL_SSL" in lines, client
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_every_kafka_client_in_the_project_is_built_from_the_security_settings() -> None:
    """A client made from a bare address would talk PLAINTEXT and be refused by the local broker, or by a
    secured cluster: only connectors/kafka_config.py writes ``bootstrap.servers`` (the peer bench excepted:
    its broker is PLAINTEXT by choice, bench/quix_peer/stack.py)."""
    from atp.settings import PROJECT_ROOT

    allowed = {
        Path("connectors/kafka_config.py"),
        Path("tests/unit/test_cli.py"),
        Path(__file__).relative_to(PROJECT_ROOT),
    }
    offenders = []
    for folder in ("atp", "connectors", "flows", "infra", "bench", "tests"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            relative = path.relative_to(PROJECT_ROOT)
            if relative in allowed or relative.parts[:2] == ("bench", "quix_peer"):
                continue
            if '{"bootstrap.servers":' in path.read_text():
                offenders.append(str(relative))
    assert offenders == []
