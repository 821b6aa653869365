"""ClickHouse's HTTP interface, the part clickhouse-connect uses, answered by chdb in this process.

No ClickHouse server can be installed on the build machine, so this is how the unit tests run
:class:`connectors.clickhouse_store.ServerStore` (clickhouse-connect) end to end: the client's own
handshake, its server-side parameter binding (``param_<name>``), its ``FORMAT`` clauses, its inserts
and its error handling go over real HTTP on 127.0.0.1, and chdb (the same ClickHouse engine, 26.9)
runs each statement.

What it is not: a ClickHouse server. It takes the statement from the ``query`` argument and the body,
the parameters from ``param_*``, and ignores every other argument (the session, ``database``,
per-query settings such as ``wait_end_of_query``); it has no users, no compression and no
cancellation. A test that passes here shows our client code and SQL agree with ClickHouse's engine
and wire formats, not how a particular server version or its configuration answers.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PARAMETER_PREFIX = "param_"


class _Chdb:
    """One chdb session (chdb allows one per process), used by one request at a time."""

    def __init__(self, path: Path) -> None:
        import chdb.session

        self._session = chdb.session.Session(str(path))
        self._lock = threading.Lock()

    def run(self, sql: str, params: dict[str, str]) -> tuple[bytes, str | None]:
        """The statement's output (in the FORMAT it names, else TabSeparated, as a server does), or its error."""
        with self._lock:
            try:
                result = self._session.query(sql, "TabSeparated", params=params or None)
            except Exception as exc:  # noqa: BLE001 - relayed to the client as the server would
                return b"", str(exc)
        if result is None:
            return b"", None
        if result.has_error():
            return b"", str(result.error_message())
        return bytes(result.bytes()), None

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _handler(chdb: _Chdb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

        def _answer(self, body: bytes) -> None:
            arguments = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            sql = "\n".join(part for part in (arguments.get("query", [""])[0], body.decode()) if part)
            params = {
                k.removeprefix(PARAMETER_PREFIX): v[0] for k, v in arguments.items() if k.startswith(PARAMETER_PREFIX)
            }
            output, error = chdb.run(sql, params)
            status = 200 if error is None else 500
            payload = output if error is None else f"Code: 1. DB::Exception: {error}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(payload)))
            if error is not None:
                self.send_header("X-ClickHouse-Exception-Code", "1")
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            self._answer(b"")

        def do_POST(self) -> None:  # noqa: N802
            self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    return Handler


@contextmanager
def clickhouse_http_on_chdb(path: Path) -> Iterator[str]:
    """Serve chdb under ``path`` on a free loopback port; yields the URL to give clickhouse-connect."""
    chdb = _Chdb(path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(chdb))
    threading.Thread(target=server.serve_forever, name="clickhouse-http-on-chdb", daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/default"
    finally:
        server.shutdown()
        server.server_close()
        chdb.close()
