"""Kafka Connect locked down: its REST API asks for basic auth (a generated password in a 0600 file),
the product's client sends it, and Kafka's FileStream connectors are neither fetched nor on the classpath."""

from __future__ import annotations

import base64
import stat
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from atp.errors import ServiceError
from atp.settings import LocalStackSettings, settings_from_fields
from connectors.cdc_connectors import CONNECT_USER, connect_client, connect_password_file, connector_states
from connectors.secret_files import ensure_secret
from infra import connect, java

POM = java.INFRA_DIR / "pom.xml"
MAVEN = "{http://maven.apache.org/POM/4.0.0}"


@pytest.fixture
def stack(tmp_path: Path) -> LocalStackSettings:
    return settings_from_fields(home=tmp_path / "home", lib_dir=tmp_path / "lib").stack


def _artifacts() -> dict[str, str]:
    dependencies = ET.parse(POM).getroot().iter(f"{MAVEN}dependency")
    return {d.findtext(f"{MAVEN}artifactId") or "": d.findtext(f"{MAVEN}version") or "" for d in dependencies}


def test_the_pom_fetches_the_basic_auth_extension_of_the_runtime_and_no_filestream_connectors() -> None:
    artifacts = _artifacts()
    assert "connect-file" not in artifacts
    assert artifacts["connect-basic-auth-extension"] == artifacts["connect-runtime"] == "${kafka.version}"


def test_a_connect_file_jar_left_by_an_older_install_is_not_on_the_classpath(stack: LocalStackSettings) -> None:
    kafka = stack.lib_dir / "kafka"
    kafka.mkdir(parents=True)
    for name in ("connect-runtime-4.1.1.jar", "connect-file-4.1.1.jar", "connect-basic-auth-extension-4.1.1.jar"):
        (kafka / name).touch()
    classpath = java.kafka_classpath(stack).split(":")
    assert [Path(p).name for p in classpath] == ["connect-basic-auth-extension-4.1.1.jar", "connect-runtime-4.1.1.jar"]
    assert not java.installed(stack)  # and an install without the extension is fetched again


def test_the_worker_is_configured_for_basic_auth_with_private_files(stack: LocalStackSettings) -> None:
    jaas = connect.write_rest_credentials(stack)
    password = connect_password_file(stack).read_text().strip()
    assert len(password) >= 32
    users = connect.rest_users_file(stack)
    assert users.read_text() == f"{CONNECT_USER}={password}\n"
    assert jaas.read_text() == (
        "KafkaConnect {\n  org.apache.kafka.connect.rest.basic.auth.extension.PropertyFileLoginModule required\n"
        f'  file="{users}";\n}};\n'
    )
    for path in (jaas, users, connect_password_file(stack)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(jaas.parent.stat().st_mode) == 0o700
    connect.write_rest_credentials(stack)
    assert connect_password_file(stack).read_text().strip() == password  # generated once, kept

    kafka = settings_from_fields(home=stack.home).kafka
    assert kafka.sasl_password_file is not None
    ensure_secret(kafka.sasl_password_file)
    config = connect._write_config(stack, kafka)
    lines = config.read_text().splitlines()
    assert f"rest.extension.classes={connect.REST_EXTENSION}" in lines
    assert f"listeners=http://127.0.0.1:{stack.connect_port}" in lines
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
    argv = connect.launch_argv(stack, config, stack.logs_dir / "connect.log")
    assert f"-Djava.security.auth.login.config={jaas}" in argv
    assert not any(password in arg for arg in argv)  # never on a command line


class _Worker(BaseHTTPRequestHandler):
    """Answers like Connect behind basic auth: 401 without the expected header."""

    expected = ""
    seen: list[str | None] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        _Worker.seen.append(self.headers.get("Authorization"))
        ok = self.headers.get("Authorization") == self.expected
        body = b"[]" if ok else b'{"error_code":401,"message":"Credentials are required"}'
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def worker(stack: LocalStackSettings) -> Iterator[LocalStackSettings]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Worker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield stack.model_copy(update={"connect_port": server.server_address[1]})
    finally:
        server.shutdown()


def test_the_product_client_sends_the_stack_credential(worker: LocalStackSettings) -> None:
    connect.write_rest_credentials(worker)
    password = connect_password_file(worker).read_text().strip()
    _Worker.expected = "Basic " + base64.b64encode(f"{CONNECT_USER}:{password}".encode()).decode()
    _Worker.seen = []
    assert connector_states(worker) == {}  # atp status and the connector watch go through this
    assert connect_client(worker).connectors() == []
    assert _Worker.seen == [_Worker.expected, _Worker.expected]


def test_without_the_password_file_the_client_says_where_it_looked(stack: LocalStackSettings) -> None:
    with pytest.raises(ServiceError, match=r"kafka connect: no credential in .*connect-rest\.password"):
        connect_client(stack)
