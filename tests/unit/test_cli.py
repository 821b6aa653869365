"""A user's mistake gets one line naming it and exit code 2, never a traceback."""

import subprocess
import sys

import pytest

from atp.cli import main
from atp.settings import PROJECT_ROOT, load_settings


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_an_unknown_command_is_named(capsys):
    assert main(["launch"]) == 2
    assert "invalid choice: 'launch'" in one_line_error(capsys)


def test_a_bad_argument_value_is_named(capsys):
    assert main(["seed", "--items", "-3"]) == 2
    assert "--items" in one_line_error(capsys)


def test_a_bad_setting_names_its_environment_variable(capsys, monkeypatch):
    monkeypatch.setenv("ATP_KAFKA_PORT", "not-a-port")
    assert main(["status"]) == 2
    assert one_line_error(capsys).startswith("atp: ATP_KAFKA_PORT:")


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ATP_LOCATION_TIMEZONES", "{bad", "not valid JSON"),
        ("ATP_LOCATION_TIMEZONES", '{"DC0001": "Nowhere/Town"}', "unknown time zone"),
        ("ATP_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("ATP_FULFIL_GRACE_S", "-5", "greater than or equal to 0"),
    ],
)
def test_a_bad_engine_setting_gets_one_line_naming_it(capsys, monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    assert main(["status"]) == 2
    error = one_line_error(capsys)
    assert error.startswith(f"atp: {variable}:") and says in error


def test_help_lists_the_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "atp.cli", "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0
    for command in ("up", "down", "status", "run", "query", "why", "demo"):
        assert command in result.stdout


def test_kafka_clients_take_sasl_and_tls_settings_and_the_password_is_never_in_the_settings_repr(monkeypatch, tmp_path):
    from connectors.kafka_config import client_config

    ca_file = tmp_path / "kafka-ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("ATP_KAFKA_BOOTSTRAP", "kafka-1.internal:9093,kafka-2.internal:9093")
    monkeypatch.setenv("ATP_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("ATP_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
    monkeypatch.setenv("ATP_KAFKA_SASL_USERNAME", "atp-pipeline")
    monkeypatch.setenv("ATP_KAFKA_SASL_PASSWORD", "s3cret-kafka")
    monkeypatch.setenv("ATP_KAFKA_SSL_CA_FILE", str(ca_file))
    settings = load_settings()
    assert client_config(settings.kafka) == {
        "bootstrap.servers": "kafka-1.internal:9093,kafka-2.internal:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "atp-pipeline",
        "sasl.password": "s3cret-kafka",
        "ssl.ca.location": str(ca_file),
    }
    assert "s3cret-kafka" not in repr(settings) and "s3cret-kafka" not in str(settings.model_dump())


def test_an_unknown_kafka_security_protocol_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("ATP_KAFKA_SECURITY_PROTOCOL", "KERBEROS")
    assert main(["status"]) == 2
    assert one_line_error(capsys).startswith("atp: ATP_KAFKA_SECURITY_PROTOCOL:")


def test_secrets_can_come_from_files_in_atp_secrets_dir(monkeypatch, tmp_path):
    (tmp_path / "atp_erp_cdc_password").write_text("from-a-file\n")
    monkeypatch.setenv("ATP_SECRETS_DIR", str(tmp_path))
    assert load_settings().stack.erp_cdc_password.get_secret_value() == "from-a-file"


def test_a_missing_secrets_dir_is_one_line(monkeypatch, capsys):
    monkeypatch.setenv("ATP_SECRETS_DIR", "/nonexistent/secrets")
    assert main(["status"]) == 2
    assert one_line_error(capsys) == "atp: ATP_SECRETS_DIR: /nonexistent/secrets is not a directory"


def test_reconcile_settle_must_be_a_number_of_seconds(capsys):
    assert main(["reconcile", "--settle", "soon"]) == 2
    assert "--settle" in one_line_error(capsys)


@pytest.mark.parametrize(
    ("variables", "named", "says"),
    [
        ({"ATP_KAFKA_PROT": "19092"}, "ATP_KAFKA_PROT", "not a setting of atp-stream"),
        (
            {"ATP_KAFKA_SECURITY_PROTOCOL": "SSL", "ATP_KAFKA_BOOTSTRAP": "kafka.internal:9093"},
            "ATP_KAFKA_SSL_CA_FILE",
            "required with",
        ),
        ({"ATP_KAFKA_SECURITY_PROTOCOL": "SSL"}, "ATP_KAFKA_SECURITY_PROTOCOL", "not SSL alone"),
        (
            {"ATP_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "ATP_KAFKA_BOOTSTRAP": "kafka.internal:9093"},
            "ATP_KAFKA_SASL_PASSWORD",
            "required with",
        ),
        (
            {"ATP_KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "ATP_KAFKA_SSL_CA_FILE": "/nonexistent/ca.pem"},
            "ATP_KAFKA_SSL_CA_FILE",
            "is not a file",
        ),
        ({"ATP_CLICKHOUSE_URL": "clickhouse.internal:8123"}, "ATP_CLICKHOUSE_URL", "http:// or https://"),
        ({"ATP_CLICKHOUSE_URL": "http://:8123"}, "ATP_CLICKHOUSE_URL", "has no host"),
        ({"ATP_CLICKHOUSE_URL": "http://ch.internal:99999"}, "ATP_CLICKHOUSE_URL", "not a URL"),
        ({"ATP_CLICKHOUSE_URL": "http://ch.internal:8123/atp?x=1"}, "ATP_CLICKHOUSE_URL", "only the server"),
        ({"ATP_CHANNEL_BUFFERS": '{"WALMART": 2}'}, "ATP_CHANNEL_BUFFERS", "WALMART not in ATP_CHANNELS"),
        ({"ATP_CHANNEL_FULFILMENT": '{"ETSY": "stores"}'}, "ATP_CHANNEL_FULFILMENT", "ETSY not in ATP_CHANNELS"),
        (
            {"ATP_CHANNELS": '["SHOPIFY"]', "ATP_WEBHOOKS": '{"EBAY": {"url": "https://api.ebay.example/x"}}'},
            "ATP_WEBHOOKS",
            "EBAY not in ATP_CHANNELS",
        ),
    ],
)
def test_settings_that_cannot_work_are_one_line_naming_the_variable(capsys, monkeypatch, variables, named, says):
    for variable, value in variables.items():
        monkeypatch.setenv(variable, value)
    assert main(["status"]) == 2
    error = one_line_error(capsys)
    assert error.startswith(f"atp: {named}:") and says in error, error


def test_a_clickhouse_server_url_with_credentials_and_port_is_accepted(monkeypatch):
    monkeypatch.setenv("ATP_CLICKHOUSE_URL", "https://atp:pw@clickhouse.internal:8443/")
    assert load_settings().store.clickhouse_url == "https://atp:pw@clickhouse.internal:8443/"
