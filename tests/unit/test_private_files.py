"""What the product writes to disk is its OS user's alone: folders 0700, files 0600 (secrets, service
data and configs, logs, the dataflow's recovery, the chdb store), and the processes it starts run with
umask 077 so that what they create is too."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from atp.pipeline import ensure_recovery
from atp.settings import Settings, settings_from_fields
from connectors.clickhouse_store import ChdbStore
from connectors.secret_files import ensure_secret, private_dir, write_private
from infra import connect, kafka, process, registry


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_from_fields(home=tmp_path / "home", lib_dir=tmp_path / "lib")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> object:
    """As on a machine with the common umask 022: nothing here may rely on a strict one."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_secrets_are_0600_in_a_0700_folder_even_when_they_existed_looser(tmp_path: Path) -> None:
    loose = tmp_path / "secrets" / "old.properties"
    loose.parent.mkdir()
    loose.write_text("x")
    loose.chmod(0o644)
    loose.parent.chmod(0o755)
    write_private(loose, "y")
    ensure_secret(tmp_path / "secrets" / "new.token")
    assert _mode(loose) == _mode(tmp_path / "secrets" / "new.token") == 0o600
    assert _mode(private_dir(tmp_path / "secrets")) == 0o700


def test_a_started_process_creates_private_files_and_its_log_is_private(settings: Settings, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    pid = process.start_detached(
        settings.stack, "probe", ["/bin/sh", "-c", "mkdir made && echo data > made/file && echo done"], cwd=work
    )
    deadline = time.monotonic() + 10
    while process.running_pid(settings.stack, "probe") is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pid > 0 and (work / "made" / "file").exists()
    assert _mode(work / "made") == 0o700
    assert _mode(work / "made" / "file") == 0o600
    assert _mode(process.log_file(settings.stack, "probe")) == 0o600


def test_kafka_connect_and_the_registry_keep_their_folders_and_configs_private(settings: Settings) -> None:
    stack = settings.stack
    assert settings.kafka.sasl_password_file is not None
    ensure_secret(settings.kafka.sasl_password_file)  # what the broker's first start makes
    config = kafka._write_config(stack, settings.kafka)
    assert _mode(config) == 0o600  # it holds the SASL password
    assert _mode(config.parent) == _mode(stack.data_dir / "kafka" / "log") == 0o700
    connect_config = connect._write_config(stack, settings.kafka)
    assert (_mode(connect_config), _mode(connect_config.parent)) == (0o600, 0o700)
    connect.write_secrets(stack, settings.kafka)
    assert _mode(stack.home / "secrets" / "connect.properties") == 0o600
    assert _mode(stack.home / "secrets" / "kafka.password") == 0o600
    assert _mode(registry.storage_dir(stack)) == 0o700
    storage_config = registry._write_storage_config(registry.storage_dir(stack), settings.kafka)
    assert (_mode(storage_config), _mode(storage_config.parent)) == (0o600, 0o700)  # it holds the SASL password


def test_the_recovery_store_is_private(settings: Settings) -> None:
    dataflow = settings.dataflow.model_copy(update={"recovery_partitions": 1})
    ensure_recovery(dataflow)
    assert _mode(dataflow.recovery_dir) == 0o700
    files = [p for p in dataflow.recovery_dir.rglob("*") if p.is_file()]
    assert files and all(_mode(p) == 0o600 for p in files), [(p.name, oct(_mode(p))) for p in files]


def test_the_chdb_store_folder_is_private(settings: Settings) -> None:
    store = ChdbStore(settings.store.chdb_path)
    try:
        assert _mode(settings.store.chdb_path) == 0o700
    finally:
        store.close()
