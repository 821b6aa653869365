"""The ATP lookup API: JSON answers from the in-memory read model, on 127.0.0.1.

    GET /v1/availability/{sku}/{location}           one SKU at one location
    GET /v1/availability/{sku}                      one SKU at every location
    GET /v1/availability/{sku}/{location}/nearby    nearest stores with it, other variants at this store
    GET /v1/channels/{channel}/{channel_sku}        one channel SKU
    GET /openapi.json                               the OpenAPI 3.1 document (connectors/api_models.py)
    GET /health                                     open: liveness and the read model's size

Security as the store endpoint's (connectors/store_endpoint.py): only loopback is bound, and every path
but ``/health`` needs ``Authorization: Bearer <token>``, the token in ``ATP_HOME/secrets/api.token`` (0600,
made at the first start); without it: 401 and ``{"error": "unauthorized"}``. An unknown key: 404 and a
JSON error. HTTP/1.1 keep-alive, so a client's connection serves many lookups.
"""

from __future__ import annotations

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import orjson

from atp.errors import ServiceError
from connectors.api_answers import nearby_answer
from connectors.api_models import NEARBY_LIMIT_DEFAULT, NEARBY_LIMIT_MAX, openapi_spec
from connectors.api_read_model import ReadModel
from connectors.store_endpoint import authorized

log = logging.getLogger("atp.api")

NOT_FOUND = orjson.dumps({"error": "not found"})


class ApiHttpServer(ThreadingHTTPServer):
    # The stdlib listens with a backlog of 5: clients opening more connections at once lose SYNs and wait out
    # TCP's 1 s retransmission (seen as 1 s lookups when a load client opened 16 connections together).
    request_queue_size = 128


class BadRequest(ValueError):
    """A request the API cannot answer as asked (400)."""


def nearby_limit(query: str) -> int:
    values = parse_qs(query).get("limit")
    if not values:
        return NEARBY_LIMIT_DEFAULT
    try:
        limit = int(values[-1])
    except ValueError as exc:
        raise BadRequest(f"limit must be a whole number from 1 to {NEARBY_LIMIT_MAX}") from exc
    if not 1 <= limit <= NEARBY_LIMIT_MAX:
        raise BadRequest(f"limit must be a whole number from 1 to {NEARBY_LIMIT_MAX}")
    return limit


def answer(model: ReadModel, target: str) -> tuple[int, Any]:
    """(status, body) for a GET of ``target`` (path and query), once the caller is authorized."""
    path, _, query = target.partition("?")
    if path == "/openapi.json":
        return 200, openapi_spec()
    segments = [unquote(segment) for segment in path.split("/")[1:]]
    if len(segments) < 3 or segments[0] != "v1" or not all(segments):
        return 404, None
    kind, keys = segments[1], segments[2:]
    found: Any = None
    if kind == "availability" and len(keys) == 1:
        locations = model.across_locations(keys[0])
        found = {"sku": keys[0], "locations": locations} if locations else None
    elif kind == "availability" and len(keys) == 2:
        found = model.at_location(keys[0], keys[1])
    elif kind == "availability" and len(keys) == 3 and keys[2] == "nearby":
        found = nearby_answer(model, keys[0], keys[1], nearby_limit(query))
    elif kind == "channels" and len(keys) == 2:
        found = model.channel_sku(keys[0], keys[1])
    return (200, found) if found is not None else (404, None)


def serve_api(model: ReadModel, port: int, token: str) -> ThreadingHTTPServer:
    """Start serving ``model`` in a daemon thread (port 0: any free port); the caller shuts the server down."""
    if not token:
        raise ServiceError("the lookup API needs a token")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: a client's connection serves many lookups
        # What the stdlib itself refuses (a malformed request line, a header too long) is JSON too; its message
        # is HTML-escaped, so it cannot break out of the string.
        error_content_type = "application/json"
        error_message_format = '{"error": "%(message)s"}'

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass  # a line per lookup would cost more than the lookup

        def setup(self) -> None:
            super().setup()
            # Answers are small and the connection is kept: without this, Nagle's algorithm holds a write back
            # until the client's delayed ACK (tens of ms), and one connection served about 25 lookups a second.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _reply(self, status: int, body: bytes, allow: str = "") -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if allow:
                self.send_header("Allow", allow)
            self.send_header("Content-Length", str(len(body)))
            if status == 401:
                self.send_header("WWW-Authenticate", 'Bearer realm="atp-api"')
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self.headers.get("Content-Length", "0") != "0":
                self.close_connection = True  # a body we do not read must not be taken for the next request
            if self.path == "/health":
                self._reply(200, orjson.dumps({"ok": True} | model.counts()))
                return
            if not authorized(self.headers.get("Authorization"), token):
                self._reply(401, orjson.dumps({"error": "unauthorized"}))
                return
            try:
                status, body = answer(model, self.path)
            except BadRequest as exc:
                self._reply(400, orjson.dumps({"error": str(exc)}))
                return
            except Exception:  # a bug must still answer (in JSON), and be in the log, not drop the connection
                log.exception("lookup API: %s failed", self.path.partition("?")[0])
                self._reply(500, orjson.dumps({"error": "internal error"}))
                return
            self._reply(status, NOT_FOUND if body is None else orjson.dumps(body))

        def _refuse(self) -> None:
            """Any method but GET: 405 (401 first without the token); never the stdlib's HTML 501."""
            self.close_connection = True  # a body we do not read must not be taken for the next request
            if not authorized(self.headers.get("Authorization"), token):
                self._reply(401, orjson.dumps({"error": "unauthorized"}))
            else:
                self._reply(405, orjson.dumps({"error": "the lookup API only answers GET"}), allow="GET")

        def __getattr__(self, name: str) -> Any:
            # The stdlib answers a method without a do_<METHOD> with an HTML 501; every method (POST, TRACE,
            # QUERY, ...) gets the JSON 405 instead.
            if name.startswith("do_"):
                return self._refuse
            raise AttributeError(name)

        def do_HEAD(self) -> None:  # noqa: N802
            self.close_connection = True
            self.send_response(405)
            self.send_header("Allow", "GET")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ApiHttpServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="lookup-api", daemon=True).start()
    return server
