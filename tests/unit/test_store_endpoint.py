"""The store endpoint (real chdb, a real HTTP server on 127.0.0.1): /query is read-only for anyone,
/command needs the bearer token from the stack's secrets, and a refusal says nothing more than it must."""

from __future__ import annotations

import socket
import stat
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from atp.errors import StoreError
from atp.settings import settings_from_fields
from connectors.clickhouse_store import ChdbStore, RemoteStore, apply_ddl
from connectors.secret_files import ensure_secret, write_private
from connectors.store_endpoint import serve_store

TOKEN = "t0ken-for-the-test"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ChdbStore, Path]]:
    home = tmp_path_factory.mktemp("store-endpoint")
    store = ChdbStore(home / "chdb")
    apply_ddl(store)
    store.command("INSERT INTO atp.alerts (sku, location, kind, available, threshold, at_ms) VALUES "
                  "('TEE-1', 'ST0001', 'LOW_STOCK', 3, 5, '2026-11-22 10:00:00.000')")  # fmt: skip
    port = _free_port()
    server = serve_store(store, port, TOKEN)
    try:
        yield f"http://127.0.0.1:{port}", store, home
    finally:
        server.shutdown()
        store.close()


def _post(url: str, body: Any, token: str | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=orjson.dumps(body), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, orjson.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, orjson.loads(exc.read())


def _tables(store: ChdbStore) -> set[str]:
    return {r["name"] for r in store.query("SELECT name FROM system.tables WHERE database = 'atp'")}


def test_a_normal_select_works_without_a_credential(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, _, _ = endpoint
    status, rows = _post(url + "/query", {"sql": "SELECT sku, available FROM atp.alerts -- the latest\n;"})
    assert (status, rows) == (200, [{"sku": "TEE-1", "available": 3}])
    status, rows = _post(
        url + "/query",
        {"sql": "WITH 1 AS one SELECT count() AS n FROM atp.alerts WHERE sku = {sku:String} AND one = 1",
         "params": {"sku": "TEE-1"}},
    )  # fmt: skip
    assert (status, rows) == (200, [{"n": 1}])


def test_ddl_and_writes_through_query_are_refused(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, store, _ = endpoint
    before = _tables(store)
    for sql in (
        "CREATE TABLE atp.sneaky (a Int32) ENGINE = Memory",
        "DROP TABLE atp.alerts",
        "ALTER TABLE atp.alerts DELETE WHERE 1",
        "INSERT INTO atp.alerts (sku) VALUES ('x')",
        "SELECT 1; CREATE TABLE atp.sneaky (a Int32) ENGINE = Memory",
        "SELECT 1; DROP TABLE atp.alerts",
        "SELECT count() FROM atp.alerts SETTINGS readonly = 0",
        "SELECT * FROM (SELECT 1 SETTINGS readonly = 0)",
        "INSERT INTO FUNCTION file('/tmp/atp-sneaky.csv', 'CSV', 'a Int32') SELECT 1",
    ):
        status, body = _post(url + "/query", {"sql": sql})
        assert status == 403, sql
        assert list(body) == ["error"] and "\n" not in body["error"]
    assert _tables(store) == before
    assert store.query("SELECT count() AS n FROM atp.alerts") == [{"n": 1}]


def test_reading_files_or_the_network_through_query_is_refused(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, _, _ = endpoint
    for sql in (
        "SELECT * FROM file('/etc/passwd')",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SELECT file('/etc/hostname') AS f",
        "SELECT * FROM FILE('/etc/passwd', 'LineAsString')",
        "SELECT count() FROM atp.alerts WHERE sku IN (SELECT line FROM file('/etc/passwd', 'LineAsString'))",
        "SELECT * FROM url('http://127.0.0.1:1/x', 'LineAsString')",
        "SELECT * FROM postgresql('127.0.0.1:1', 'pos', 'sale_ticket', 'u', 'p')",
    ):
        status, body = _post(url + "/query", {"sql": sql})
        assert status == 403, sql
        assert "root:" not in orjson.dumps(body).decode()


def test_into_outfile_is_refused_and_writes_no_file(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, _, home = endpoint
    target = home / "stolen.csv"
    for sql in (f"SELECT * FROM atp.alerts INTO OUTFILE '{target}'",
                f"SELECT * FROM atp.alerts INTO OUTFILE '{target}' FORMAT CSV"):  # fmt: skip
        status, _ = _post(url + "/query", {"sql": sql})
        assert status == 403
    assert not target.exists()


def test_readonly_settings_alone_refuse_table_functions_in_chdb(endpoint: tuple[str, ChdbStore, Path]) -> None:
    """What the endpoint relies on ClickHouse for (chdb 4.4): readonly=1 refuses table functions and DDL."""
    _, store, _ = endpoint
    for sql in ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "SELECT * FROM url('http://127.0.0.1:1/x', 'CSV')",
                "CREATE TABLE atp.sneaky (a Int32) ENGINE = Memory"):  # fmt: skip
        with pytest.raises(StoreError, match="readonly"):
            store.query(sql + " SETTINGS readonly = 1")


def test_command_without_the_token_is_401_and_says_nothing_more(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, store, _ = endpoint
    for token in (None, "wrong", TOKEN + "x", ""):
        status, body = _post(url + "/command", {"sql": "DROP TABLE atp.alerts"}, token)
        assert (status, body) == (401, {"error": "unauthorized"})
    status, body = _post(url + "/anything", {"sql": "SELECT 1"})
    assert (status, body) == (401, {"error": "unauthorized"})
    assert "alerts" in _tables(store)


def test_command_with_the_token_runs(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, store, _ = endpoint
    status, body = _post(url + "/command", {"sql": "CREATE TABLE IF NOT EXISTS atp.scratch (a Int32) ENGINE = Memory"},
                         TOKEN)  # fmt: skip
    assert (status, body) == (200, {"ok": True})
    assert "scratch" in _tables(store)


def test_the_token_file_is_made_once_0600_under_the_stacks_secrets(tmp_path: Path) -> None:
    settings = settings_from_fields(home=tmp_path / "home").store
    token = ensure_secret(settings.token_file)
    assert len(token) >= 32 and ensure_secret(settings.token_file) == token  # made once, then read
    assert settings.token_file == tmp_path / "home" / "secrets" / "store.token"
    assert stat.S_IMODE(settings.token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.token_file.parent.stat().st_mode) == 0o700


def test_the_product_client_sends_the_token_from_the_secrets_file(endpoint: tuple[str, ChdbStore, Path]) -> None:
    url, _, home = endpoint
    token_file = write_private(home / "secrets" / "store.token", TOKEN + "\n")
    remote = RemoteStore(url, token_file)
    remote.insert_rows("atp.privacy_audit", [{"requested_at": "2026-11-22 10:00:00.000", "subject_sha256": "ab",
                                               "checked": [], "removed": 0, "removed_from": []}])  # fmt: skip
    assert remote.query("SELECT subject_sha256 FROM atp.privacy_audit") == [{"subject_sha256": "ab"}]
    with pytest.raises(StoreError, match="missing.token"):
        RemoteStore(url, home / "missing.token").command("DROP TABLE atp.privacy_audit")
    with pytest.raises(StoreError, match="only a single SELECT|one SELECT"):
        remote.query("DROP TABLE atp.privacy_audit")


def test_every_sql_example_of_the_readme_and_the_why_query_pass_the_read_only_endpoint(
    endpoint: tuple[str, ChdbStore, Path],
) -> None:
    import re

    from atp.analyst import WHY_SQL
    from atp.settings import PROJECT_ROOT

    url, _, _ = endpoint
    examples = re.findall(r"```sql\n(.*?)```", (PROJECT_ROOT / "README.md").read_text(), flags=re.S)
    assert examples
    for sql in examples:
        status, body = _post(url + "/query", {"sql": sql})
        assert status == 200, (sql, body)
    status, body = _post(url + "/query", {"sql": WHY_SQL, "params": {"sku": "TEE-1", "location": "ST0001"}})
    assert status == 200, body
