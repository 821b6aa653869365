"""A real local HTTP server that plays a partner: it answers from a script, and records what it got.

A 200 without a scripted body carries what the platform answers when it takes the request: Shopify's
``inventorySetQuantities`` result (with a ``userError`` for every inventory item in ``Partner.refuse``, and
then nothing applied: ``inventoryAdjustmentGroup`` null), eBay's ``responses`` with a 200 per SKU, ``{}`` for
the others. Any other status answers ``{}`` unless scripted.
"""

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
    body: bytes | None = None  # None: what the platform answers (see the module's docstring)


@dataclass
class Partner:
    script: list[Reply] = field(default_factory=list)  # replies in order; then 200s
    requests: list[tuple[dict[str, str], dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    refuse: dict[str, str] = field(default_factory=dict)  # Shopify inventory item id -> the userError's message

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.pop(0) if self.script else Reply()


def platform_answer(request: dict, refuse: dict[str, str]) -> dict:
    """What the platform whose request this is answers with a 200."""
    if "query" in request:  # Shopify's GraphQL
        quantities = request["variables"]["input"]["quantities"]
        errors = [
            {
                "field": ["input", "quantities", str(index), "inventoryItemId"],
                "message": refuse[quantity["inventoryItemId"]],
                "code": "INVALID_INVENTORY_ITEM",
            }
            for index, quantity in enumerate(quantities)
            if quantity["inventoryItemId"] in refuse
        ]
        group = None if errors else {"id": "gid://shopify/InventoryAdjustmentGroup/101"}
        return {"data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": errors}}}
    if "requests" in request:  # eBay's bulk_update_price_quantity
        return {
            "responses": [
                {"statusCode": 200, "sku": item["sku"], "offerId": f"50{index:08d}", "warnings": []}
                for index, item in enumerate(request["requests"])
            ]
        }
    return {}


@contextmanager
def partner_server(partner: Partner, port: int = 0) -> Iterator[str]:
    """Serve ``partner`` on 127.0.0.1 (a free port unless ``port``); yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = partner.next_reply()
            request = orjson.loads(body)
            with partner.lock:
                partner.requests.append((dict(self.headers), request))
                refuse = dict(partner.refuse)
            answer = b"{}" if reply.status != 200 else orjson.dumps(platform_answer(request, refuse))
            answer = answer if reply.body is None else reply.body
            if reply.delay_s:
                time.sleep(reply.delay_s)
            try:
                self.send_response(reply.status)
                if reply.retry_after is not None:
                    self.send_header("Retry-After", reply.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
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
