"""The ClickHouse store: embedded chdb by default, a ClickHouse server when ATP_CLICKHOUSE_URL is set.

chdb allows one process per data directory. The store loader (``atp run``) owns
it and answers queries for everyone else over a small HTTP endpoint on
127.0.0.1 (:class:`RemoteStore`); when no loader runs, a CLI command opens the
directory itself. A ClickHouse server needs none of this: every process talks
to it directly with clickhouse-connect.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import orjson

import schemas
from atp.errors import ServiceError, StoreError
from atp.settings import StoreSettings
from connectors.secret_files import private_dir, read_secret

DDL_DIR = schemas.CLICKHOUSE_DIR

Row = dict[str, Any]


class Store(Protocol):
    def command(self, sql: str) -> None: ...

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]: ...

    def insert_rows(self, table: str, rows: Sequence[Row]) -> None: ...

    def close(self) -> None: ...


def ddl_statements() -> list[str]:
    """The statements of every ``schemas/clickhouse/*.sql`` file, in file order."""
    statements = []
    for path in sorted(DDL_DIR.glob("*.sql")):
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("--"))
        statements += [s.strip() for s in text.split(";") if s.strip()]
    return statements


def apply_ddl(store: Store) -> None:
    for statement in ddl_statements():
        store.command(statement)


def sql_string(text: str) -> str:
    """``text`` as one ClickHouse string literal (backslashes and quotes escaped)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _json_rows(rows: Sequence[Row]) -> bytes:
    return b"\n".join(orjson.dumps(r) for r in rows)


class ChdbStore:
    """The embedded store; one per process and per data directory."""

    def __init__(self, path: Path) -> None:
        import chdb.session

        private_dir(path)  # the store's files are this user's alone (0700)
        try:
            self._session = chdb.session.Session(str(path))  # type: ignore[no-untyped-call]
        except Exception as exc:
            raise StoreError(f"chdb: cannot open {path} (is another process holding it?): {exc}") from exc
        # chdb sessions are not safe to share between threads; the loader's HTTP endpoint does.
        self._lock = threading.Lock()

    def _run(self, sql: str, fmt: str = "CSV", params: dict[str, Any] | None = None) -> bytes:
        with self._lock:
            try:
                result = self._session.query(sql, fmt, params=params)  # type: ignore[no-untyped-call]
            except Exception as exc:
                raise StoreError(f"chdb: {exc}") from exc
        if result is None:
            return b""
        if result.has_error():
            raise StoreError(f"chdb: {result.error_message()}")
        return bytes(result.bytes())

    def command(self, sql: str) -> None:
        self._run(sql)

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        body = self._run(sql, "JSONEachRow", params)
        return [orjson.loads(line) for line in body.splitlines() if line]

    def insert_rows(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            self._run(f"INSERT INTO {table} FORMAT JSONEachRow\n" + _json_rows(rows).decode())

    def close(self) -> None:
        with self._lock:
            self._session.close()  # type: ignore[no-untyped-call]


class ServerStore:
    """A ClickHouse server through clickhouse-connect (``ATP_CLICKHOUSE_URL``).

    It answers exactly as :class:`ChdbStore` does: rows are read as ``JSONEachRow`` (dates and times as
    text, 64-bit integers as numbers), not as clickhouse-connect's Python objects, so the CLI, the
    reconciliation and the privacy requests see the same values whichever store they run on; and every
    refusal is a :class:`StoreError`, which the loader retries on.
    """

    # chdb 4.4 writes 64-bit integers unquoted; older servers quote them by default.
    _JSON_SETTINGS = {"output_format_json_quote_64bit_integers": 0}

    def __init__(self, url: str) -> None:
        import clickhouse_connect

        try:
            self._client = clickhouse_connect.get_client(dsn=url)
        except Exception as exc:
            raise StoreError(f"clickhouse server at ATP_CLICKHOUSE_URL: {exc}") from exc

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise StoreError(f"clickhouse: {exc}") from exc

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        # clickhouse-connect appends its own FORMAT clause, after which a statement's `;` is an error.
        statement = sql.strip().rstrip(";")
        try:
            body = self._client.raw_query(statement, parameters=params or None, settings=self._JSON_SETTINGS,
                                          fmt="JSONEachRow")  # fmt: skip
        except Exception as exc:
            raise StoreError(f"clickhouse: {exc}") from exc
        return [orjson.loads(line) for line in body.splitlines() if line]

    def insert_rows(self, table: str, rows: Sequence[Row]) -> None:
        if rows:
            try:
                self._client.raw_insert(table, insert_block=_json_rows(rows), fmt="JSONEachRow")
            except Exception as exc:  # the server away or refusing: one error type for the loader to retry on
                raise StoreError(f"clickhouse: {exc}") from exc

    def close(self) -> None:
        self._client.close()


class RemoteStore:
    """Queries sent to the process that owns the chdb store (the loader).

    ``/query`` is read-only and open; ``/command`` (writes, DDL) sends the bearer token the owner
    keeps in ``token_file`` (``ATP_HOME/secrets/store.token``), read when first needed.
    """

    def __init__(self, url: str, token_file: Path | None = None, timeout_s: float = 30.0) -> None:
        self._url = url
        self._token_file = token_file
        self._timeout_s = timeout_s

    def _token(self) -> str:
        if self._token_file is None:
            raise StoreError("store: writing through the store endpoint needs its token file")
        try:
            return read_secret(self._token_file, "store")
        except ServiceError as exc:
            raise StoreError(str(exc)) from exc

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        if path != "/query":
            headers["Authorization"] = f"Bearer {self._token()}"
        request = urllib.request.Request(self._url + path, data=orjson.dumps(payload), headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise StoreError(f"store: {json.loads(exc.read() or b'{}').get('error', exc)}") from exc
        except OSError as exc:
            raise StoreError(f"store endpoint {self._url} unreachable: {exc}") from exc

    def command(self, sql: str) -> None:
        self._post("/command", {"sql": sql})

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        rows: list[Row] = self._post("/query", {"sql": sql, "params": params or {}})
        return rows

    def insert_rows(self, table: str, rows: Sequence[Row]) -> None:
        """For the operators' own tables (reconciliation, audit); availability is only ever loaded from Kafka."""
        if rows:
            self.command(f"INSERT INTO {table} FORMAT JSONEachRow\n" + _json_rows(rows).decode())

    def close(self) -> None:
        pass


def store_endpoint_alive(store: StoreSettings) -> bool:
    try:
        with urllib.request.urlopen(store.store_url + "/health", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def open_owned_store(settings: StoreSettings) -> Store:
    """A store this process may write to: the server, or chdb opened exclusively."""
    if settings.clickhouse_url:
        return ServerStore(settings.clickhouse_url)
    return ChdbStore(settings.chdb_path)


def open_store_for_reading(settings: StoreSettings) -> Store:
    """Where to send an analyst's query: the server, the running loader, or chdb directly."""
    if settings.clickhouse_url:
        return ServerStore(settings.clickhouse_url)
    if store_endpoint_alive(settings):
        return RemoteStore(settings.store_url, settings.token_file)
    store = ChdbStore(settings.chdb_path)
    apply_ddl(store)
    return store
