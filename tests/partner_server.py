"""A real local HTTP server that plays a partner: it answers from a script, and records what it got."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson


@dataclass
class Reply:
    status: int = 200
    retry_after: str | None = None
    delay_s: float = 0.0  # answer this late (a partner that hangs)


@dataclass
class Partner:
    script: list[Reply] = field(default_factory=list)  # replies in order; then 200s
    requests: list[tuple[dict[str, str], dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.pop(0) if self.script else Reply()


@contextmanager
def partner_server(partner: Partner, port: int = 0) -> Iterator[str]:
    """Serve ``partner`` on 127.0.0.1 (a free port unless ``port``); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = partner.next_reply()
            with partner.lock:
                partner.requests.append((dict(self.headers), orjson.loads(body)))
            if reply.delay_s:
                time.sleep(reply.delay_s)
            try:
                self.send_response(reply.status)
                if reply.retry_after is not None:
                    self.send_header("Retry-After", reply.retry_after)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout test): exactly what a hung partner sees

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inventory"
    finally:
        server.shutdown()
        server.server_close()
