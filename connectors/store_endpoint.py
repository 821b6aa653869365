"""A query endpoint on 127.0.0.1 served by the process that owns the chdb store.

POST /query {"sql", "params"} -> JSON rows; POST /command {"sql"}; GET /health.
Only loopback is bound: this is how the CLI and notebooks reach the embedded
store while the loader holds it, not a public API. Even so:

- ``/query`` is read-only for anyone: one SELECT (``WITH``, ``UNION``, ``INTERSECT`` allowed), parsed
  by the store itself (:func:`read_only_statement`), without ``INTO OUTFILE``, ``FORMAT`` or
  ``SETTINGS`` of its own and without a function that reads files (``file``, ...), then run with
  ``SETTINGS readonly=1``, under which ClickHouse refuses writes, DDL and every table function that
  reaches a file, a URL, another database or a program.
- ``/command`` (and every other path but ``/query`` and ``/health``) needs
  ``Authorization: Bearer <token>``, the token in ``ATP_HOME/secrets/store.token`` (0600, made at the
  first start): a wrong or missing one gets 401 and ``{"error": "unauthorized"}``, nothing more.
"""

from __future__ import annotations

import hmac
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from atp.errors import StoreError
from connectors.clickhouse_store import Store, sql_string

log = logging.getLogger("atp.store_endpoint")

# The settings every /query runs under: read-only (no writes, no DDL, no settings changes, no table
# function that reaches a file, a URL, a remote server, another database or a program).
READ_ONLY_SETTINGS = "SETTINGS readonly = 1"

# The root of an accepted statement's syntax tree: a SELECT, or several joined by UNION / INTERSECT.
_SELECT_ROOT = "SelectWithUnionQuery (children 1)"

# Functions refused anywhere in a /query statement. Table functions are refused by readonly=1 already
# (checked by tests/unit/test_store_endpoint.py); the scalar ``file()`` is not, so it is refused here,
# with the others that read files or reach outside the store, should readonly ever let one through.
DENIED_FUNCTIONS = frozenset(
    name.lower()
    for name in (
        "file", "url", "urlCluster", "s3", "s3Cluster", "gcs", "oss", "cosn", "hdfs", "hdfsCluster",
        "azureBlobStorage", "azureBlobStorageCluster", "remote", "remoteSecure", "cluster", "clusterAllReplicas",
        "mysql", "postgresql", "mongodb", "redis", "sqlite", "odbc", "jdbc", "executable", "input", "dictionary",
        "catboostEvaluate", "iceberg", "icebergS3", "icebergAzure", "icebergHDFS", "icebergLocal", "deltaLake",
        "deltaLakeLocal", "hudi", "paimon", "ytsaurus", "arrowFlight", "fuzzQuery",
    )
)  # fmt: skip


class RefusedQuery(StoreError):
    """A /query statement that is not one plain SELECT."""


def read_only_statement(store: Store, sql: str, params: dict[str, Any] | None = None) -> str:
    """``sql`` as the store formats it, if it is one SELECT that may run read-only; else :class:`RefusedQuery`.

    The store's own parser decides (``formatQuerySingleLine`` refuses several statements; ``EXPLAIN AST``
    gives the tree), so quoting, comments and case cannot hide a second statement or a function.
    """
    if not sql.strip():
        raise RefusedQuery("/query takes one SELECT statement; it was empty")
    try:
        canonical = store.query(f"SELECT formatQuerySingleLine({sql_string(sql)}) AS q")[0]["q"]
    except StoreError as exc:
        raise RefusedQuery(f"/query takes one SELECT statement: {exc}") from exc
    tree = [row["explain"] for row in store.query(f"EXPLAIN AST {canonical}", params)]
    if not tree or tree[0] != _SELECT_ROOT:
        raise RefusedQuery(
            "/query takes one SELECT statement, without INTO OUTFILE, FORMAT or SETTINGS; "
            "anything else needs /command and its credential"
        )
    for line in tree:
        node = line.strip()
        if node == "Set" or node.startswith("Set "):
            raise RefusedQuery("/query statements may not carry SETTINGS")
        if node.startswith("Function "):
            name = node.split()[1].lower()
            if name in DENIED_FUNCTIONS:
                raise RefusedQuery(f"/query may not call {node.split()[1]}()")
    return str(canonical)


def read_only_query(store: Store, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run ``sql`` on ``store`` if :func:`read_only_statement` accepts it, under :data:`READ_ONLY_SETTINGS`."""
    statement = read_only_statement(store, sql, params)
    return store.query(f"{statement} {READ_ONLY_SETTINGS}", params)


def authorized(header: str | None, token: str) -> bool:
    """True when ``header`` is ``Bearer <token>`` (compared in constant time)."""
    scheme, _, given = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def serve_store(store: Store, port: int, token: str) -> ThreadingHTTPServer:
    """Start serving ``store`` in a daemon thread; the caller shuts the server down.

    ``token``: the bearer token /command (and every path but /query and /health) requires.
    """
    if not token:
        raise StoreError("the store endpoint needs a token for /command")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # queries may carry SKUs but never personal data; still, keep request logs out

        def _reply(self, status: int, body: Any) -> None:
            payload = orjson.dumps(body, default=str)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="atp-store"')
            self.end_headers()
            self.wfile.write(payload)

        def _authorized(self) -> bool:
            if authorized(self.headers.get("Authorization"), token):
                return True
            self._reply(401, {"error": "unauthorized"})
            return False

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.path == "/health":
                self._reply(200, {"ok": True})
            elif self._authorized():
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/query" and not self._authorized():
                return
            try:
                request = orjson.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                if self.path == "/query":
                    params = request.get("params") or None
                    self._reply(200, read_only_query(store, request["sql"], params))
                elif self.path == "/command":
                    store.command(request["sql"])
                    self._reply(200, {"ok": True})
                else:
                    self._reply(404, {"error": "not found"})
            except RefusedQuery as exc:
                self._reply(403, {"error": str(exc)})
            except StoreError as exc:
                self._reply(400, {"error": str(exc)})
            except (KeyError, ValueError, TypeError, AttributeError, orjson.JSONDecodeError):
                self._reply(400, {"error": "bad request: expected a JSON object with sql (and params)"})

        def do_PUT(self) -> None:  # noqa: N802
            if self._authorized():
                self._reply(404, {"error": "not found"})

        do_DELETE = do_PUT  # noqa: N815
        do_PATCH = do_PUT  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="store-endpoint", daemon=True).start()
    return server
