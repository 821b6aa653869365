"""The store backends every store test runs on, and the report of which ones ran.

A test that takes the ``store`` fixture runs once per backend:

- ``chdb``: the embedded store (:class:`ChdbStore`), as the pipeline runs by default;
- ``http-on-chdb``: :class:`ServerStore` (clickhouse-connect) over real HTTP to chdb playing ClickHouse's
  HTTP interface (``tests/clickhouse_http.py``): our client code and SQL, not a server's behaviour;
- ``server``: :class:`ServerStore` on the ClickHouse server named by ``ATP_CLICKHOUSE_URL``. These
  variants drop and re-create the ``atp`` database: point the variable at a disposable server.

Without ``ATP_CLICKHOUSE_URL`` the ``server`` variants are deselected at collection, and the header and
the summary of the run say so: they neither pass nor skip unseen.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.clickhouse_store import ChdbStore, ServerStore, Store, apply_ddl
from tests.clickhouse_http import clickhouse_http_on_chdb

SERVER_URL_VARIABLE = "ATP_CLICKHOUSE_URL"
STORE_BACKENDS = ("chdb", "http-on-chdb", "server")
_deselected_server_tests: list[str] = []


def _server_url() -> str:
    return os.environ.get(SERVER_URL_VARIABLE, "")


def _ready(store: Store) -> Store:
    apply_ddl(store)
    apply_ddl(store)  # the DDL is idempotent: every start of the loader applies it again
    return store


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """An empty store with the project's DDL applied, on each backend in turn."""
    backend = request.param
    if backend == "chdb":
        opened: Store = ChdbStore(tmp_path / "chdb")
        yield _ready(opened)
        opened.close()
    elif backend == "http-on-chdb":
        with clickhouse_http_on_chdb(tmp_path / "chdb") as url:
            opened = ServerStore(url)
            yield _ready(opened)
            opened.close()
    else:
        opened = ServerStore(_server_url())
        opened.command("DROP DATABASE IF EXISTS atp SYNC")  # a disposable server: see the module
        yield _ready(opened)
        opened.close()


def _runs_on_the_server(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    return callspec is not None and callspec.params.get("store") == "server"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _server_url():
        return
    server_items = [item for item in items if _runs_on_the_server(item)]
    if server_items:
        _deselected_server_tests.extend(item.nodeid for item in server_items)
        config.hook.pytest_deselected(items=server_items)
        items[:] = [item for item in items if not _runs_on_the_server(item)]


def _server_line() -> str:
    if _server_url():
        return "ClickHouse server variants: run against ATP_CLICKHOUSE_URL"
    return f"ClickHouse server variants: not run (ATP_CLICKHOUSE_URL unset): {len(_deselected_server_tests)} deselected"


def pytest_report_header(config: pytest.Config) -> str:
    backends = "chdb, http-on-chdb" + (", server" if _server_url() else "")
    return f"store backends: {backends}; server variants need ATP_CLICKHOUSE_URL (a disposable server)"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    terminalreporter.write_line(_server_line())
