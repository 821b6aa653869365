"""A query endpoint on 127.0.0.1 served by the process that owns the chdb store.

POST /query {"sql", "params"} -> JSON rows; POST /command {"sql"}; GET /health.
Only loopback is bound: this is how the CLI and notebooks reach the embedded
store while the loader holds it, not a public API.
"""

from __future__ import annotations

import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from atp.errors import StoreError
from connectors.clickhouse_store import Store

log = logging.getLogger("atp.store_endpoint")


def serve_store(store: Store, port: int) -> ThreadingHTTPServer:
    """Start serving ``store`` in a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # queries may carry SKUs but never personal data; still, keep request logs out

        def _reply(self, status: int, body: Any) -> None:
            payload = orjson.dumps(body, default=str)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.path == "/health":
                self._reply(200, {"ok": True})
            else:
                self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:  # noqa: N802
            try:
                request = orjson.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                if self.path == "/query":
                    self._reply(200, store.query(request["sql"], request.get("params") or None))
                elif self.path == "/command":
                    store.command(request["sql"])
                    self._reply(200, {"ok": True})
                else:
                    self._reply(404, {"error": "not found"})
            except StoreError as exc:
                self._reply(400, {"error": str(exc)})
            except (KeyError, orjson.JSONDecodeError) as exc:
                self._reply(400, {"error": f"bad request: {exc}"})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="store-endpoint", daemon=True).start()
    return server
