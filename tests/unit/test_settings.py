"""The settings' parts: every variable reaches a part, the README lists every variable, and settings built from
field names are the same as from the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from atp.errors import ConfigError
from atp.settings import PROJECT_ROOT, TOOL_VARIABLES, EnvironmentSettings, load_settings, settings_from_fields


def _changed_values(tmp_path: Path) -> dict[str, object]:
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    return {
        "home": tmp_path / "home",
        "lib_dir": tmp_path / "lib",
        "kafka_port": 29092,
        "kafka_controller_port": 29093,
        "connect_port": 28083,
        "registry_port": 28081,
        "registry_management_port": 28091,
        "postgres_port": 25432,
        "mariadb_port": 23306,
        "kafka_sasl_port": 29094,
        "kafka_ssl_port": 29095,
        "store_port": 28124,
        "api_port": 28180,
        "flow_metrics_port": 28100,
        "pipeline_metrics_port": 28099,
        "erp_admin_password": SecretStr("a"),
        "erp_cdc_password": SecretStr("b"),
        "pos_admin_password": SecretStr("c"),
        "pos_cdc_password": SecretStr("d"),
        "kafka_bootstrap": "kafka.internal:9092",
        "kafka_security_protocol": "SASL_PLAINTEXT",
        "kafka_sasl_mechanism": "SCRAM-SHA-256",
        "kafka_sasl_username": "someone",
        "kafka_sasl_password": SecretStr("e"),
        "kafka_ssl_ca_file": ca_file,
        "registry_url": "http://registry.internal:8080/apis/ccompat/v7",
        "registry_basic_auth": SecretStr("user:pw"),
        "clickhouse_url": "http://clickhouse.internal:8123",
        "start_timeout_s": 30.0,
        "low_stock_threshold": 7,
        "fulfil_grace_s": 60,
        "dc_safety_stock": 2,
        "store_safety_stock": 3,
        "dynamic_safety_factor": 1.5,
        "sales_window_days": 7,
        "unresolved_wait_s": 5,
        "max_hold_s": 3600,
        "timezone": "Europe/Paris",
        "location_timezones": {"DC0001": "America/New_York"},
        "recovery_partitions": 2,
        "input_partitions": 6,
        "snapshot_interval_s": 0.5,
        "processes": 2,
        "cluster_port": 19110,
        "tx_wait_s": 5,
        "tx_max_changes": 50,
        "channels": ["SHOPIFY"],
        "channel_fulfilment": {"SHOPIFY": "stores"},
        "channel_buffers": {"SHOPIFY": "10%"},
        "promotable_min_available": 4,
        "promotable_stable_s": 30.0,
        "channel_promotable_min": {"SHOPIFY": 8},
        "webhooks": {"SHOPIFY": {"url": "https://shop.example/inventory"}},
    }


def test_every_variable_reaches_a_part(tmp_path: Path) -> None:
    changed = _changed_values(tmp_path)
    assert set(changed) == set(EnvironmentSettings.model_fields)
    # Another cluster needs its own credentials and CA under the default SASL_SSL: try its address in plain.
    alone: dict[str, dict[str, object]] = {"kafka_bootstrap": {"kafka_security_protocol": "PLAINTEXT"}}
    for name, value in changed.items():
        defaults = settings_from_fields(**alone.get(name, {})).model_dump()
        changed_one = settings_from_fields(**alone.get(name, {}), **{name: value}).model_dump()
        assert changed_one != defaults, f"ATP_{name.upper()} reaches no part"


def test_derived_values_come_from_the_variables_they_always_did(tmp_path: Path) -> None:
    settings = settings_from_fields(home=tmp_path, kafka_ssl_port=29095, registry_port=28081, store_port=28124)
    assert settings.kafka.bootstrap_servers == "127.0.0.1:29095"
    assert settings.kafka.registry_url == "http://127.0.0.1:28081/apis/ccompat/v7"
    assert settings.store.store_url == "http://127.0.0.1:28124"
    assert settings.store.chdb_path == tmp_path / "chdb"
    assert settings.dataflow.recovery_dir == tmp_path / "recovery"
    assert (settings.stack.logs_dir, settings.stack.run_dir) == (tmp_path / "logs", tmp_path / "run")
    assert (
        settings_from_fields(
            kafka_bootstrap="k1:9092,k2:9092", kafka_security_protocol="PLAINTEXT"
        ).kafka.bootstrap_servers
        == "k1:9092,k2:9092"
    )
    assert (
        settings_from_fields(registry_url="http://r:8080/apis/ccompat/v7").kafka.registry_url
        == "http://r:8080/apis/ccompat/v7"
    )


def test_settings_from_fields_read_no_environment_and_are_checked_like_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATP_TX_WAIT_S", "7")
    assert load_settings().engine.tx_wait_s == 7
    assert settings_from_fields().engine.tx_wait_s == 60
    with pytest.raises(ConfigError, match=r"^ATP_TX_WAITS: "):
        settings_from_fields(tx_waits=5)
    with pytest.raises(ConfigError, match=r"^ATP_CHANNEL_BUFFERS: WALMART not in ATP_CHANNELS"):
        settings_from_fields(channel_buffers={"WALMART": 2})


def test_the_parts_are_frozen() -> None:
    settings = settings_from_fields()
    with pytest.raises(ValidationError):
        settings.engine.tx_wait_s = 5
    with pytest.raises(ValidationError):
        settings.kafka = settings.kafka


def test_the_readme_lists_every_variable_and_no_other() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Settings\n") : readme.index("\n## ", readme.index("## Settings\n") + 1)]
    listed = {
        name for row in re.findall(r"^\| (`ATP_.*?) \|", section, flags=re.M) for name in re.findall(r"ATP_\w+", row)
    }
    settings = {f"ATP_{name.upper()}" for name in EnvironmentSettings.model_fields}
    assert listed - settings <= TOOL_VARIABLES
    assert settings <= listed


def test_the_local_broker_is_reached_over_sasl_ssl_with_its_own_ca_and_generated_password(tmp_path: Path) -> None:
    kafka = settings_from_fields(home=tmp_path, kafka_ssl_port=29095).kafka
    assert (kafka.bootstrap_servers, kafka.security_protocol) == ("127.0.0.1:29095", "SASL_SSL")
    assert kafka.ssl_ca_file == tmp_path / "secrets" / "tls" / "ca.pem"
    assert kafka.sasl_password_file == tmp_path / "secrets" / "kafka.password"


def test_each_protocol_reaches_the_local_listener_that_speaks_it(tmp_path: Path) -> None:
    ports = {"kafka_port": 29092, "kafka_sasl_port": 29094, "kafka_ssl_port": 29095}
    for protocol, port in (("PLAINTEXT", 29092), ("SASL_PLAINTEXT", 29094), ("SASL_SSL", 29095)):
        settings = settings_from_fields(home=tmp_path, kafka_security_protocol=protocol, **ports)
        assert settings.kafka.bootstrap_servers == f"127.0.0.1:{port}"
        assert settings.stack.kafka_plaintext_listener == (protocol == "PLAINTEXT")


def test_another_cluster_gets_no_local_password_file_or_ca(tmp_path: Path) -> None:
    ca_file = tmp_path / "their-ca.pem"
    ca_file.write_text("-----BEGIN CERTIFICATE-----\n")
    kafka = settings_from_fields(
        home=tmp_path, kafka_bootstrap="kafka.internal:9093", kafka_sasl_password=SecretStr("p"),
        kafka_ssl_ca_file=ca_file,
    ).kafka  # fmt: skip
    assert kafka.sasl_password_file is None and kafka.ssl_ca_file == ca_file
