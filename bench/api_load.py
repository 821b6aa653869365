"""``python -m bench.api_load``: the lookup API under a steady load, in process (no stack needed).

The server (connectors/api_server.py) runs in this process over a read model of ``--keys`` SKU-location
records (filled directly, as the feed would); a client in a child process (so that it does not share the
server's interpreter lock) sends ``--rate`` requests/s for ``--seconds`` over ``--connections`` keep-alive
connections, each request on a fixed schedule. A request's latency runs from its scheduled time to the
end of its answer: a client that falls behind counts its waiting too (no coordinated omission).

The mix is what a storefront asks: 85% one SKU at one location, 5% a SKU across its locations, 5% a
channel SKU, 5% nearby and alternatives.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing
import random
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from atp.domain.nearby import Place, Variant
from bench.stats import LatencySummary
from connectors.api_read_model import LocationRow, ReadModel
from connectors.api_server import serve_api

LOCATIONS = 20  # 2 DCs and 18 stores: a SKU's record at each
COLOURS, SIZES = ("BLK", "WHT", "RED", "NVY"), ("S", "M", "L", "XL", "XXL")
SOURCE_TIME = dt.datetime(2026, 11, 22, 10, 4, tzinfo=dt.UTC)
# What the client process hands back: its seconds from the first scheduled request, failures, (kind, latency ms).
ClientRun = tuple[float, int, list[tuple[str, float]]]


@dataclass(frozen=True)
class ApiLoadResult:
    keys: int
    target_rate: float
    achieved_rate: float
    seconds: float
    connections: int
    latency: LatencySummary
    by_kind: dict[str, LatencySummary]
    errors: int


def _location(index: int) -> str:
    return f"DC{index + 1:04d}" if index < 2 else f"ST{index - 1:04d}"


def filled_model(keys: int) -> tuple[ReadModel, list[str]]:
    """A read model of ``keys`` availability records (SKUs at :data:`LOCATIONS` locations, 20 variants a style),
    a channel record per SKU, and the locations and items the nearby answer needs; and its SKUs."""
    model = ReadModel()
    rng = random.Random(7)
    for index in range(LOCATIONS):
        location = _location(index)
        place = Place(location, 43.0 + rng.random() * 6, -1.0 + rng.random() * 8)
        model.apply_location(LocationRow(location, "D" if index < 2 else "S", f"Location {location}", place))
    skus = []
    for n in range(max(1, keys // LOCATIONS)):
        style, variant = divmod(n, len(COLOURS) * len(SIZES))
        colour, size = COLOURS[variant // len(SIZES)], SIZES[variant % len(SIZES)]
        sku = f"TEE-{1001 + style}-{colour}-{size}"
        skus.append(sku)
        model.apply_item(Variant(sku, f"TEE-{1001 + style}", colour, size))
        for index in range(LOCATIONS):
            available = rng.choice((0, 0, 1, 3, 8, 20))
            model.apply_availability({
                "sku": sku, "location": _location(index), "on_hand": available, "unsellable": 0, "reserved": 0,
                "committed": 0, "safety_stock": 0, "available": available, "incoming": 0, "next_inbound_date": None,
                "status": "IN_STOCK" if available else "OUT_OF_STOCK", "version": 1, "source_ts_ms": SOURCE_TIME,
                "computed_ts_ms": SOURCE_TIME, "cause": "stock", "cause_ref": "bench",
            })  # fmt: skip
        model.apply_channel({
            "channel": "SHOPIFY", "channel_sku": sku.lower(), "sku": sku, "available": 10, "buffer": 0,
            "status": "IN_STOCK", "promise_date": None, "version": 1, "computed_ts_ms": SOURCE_TIME,
        })  # fmt: skip
    return model, skus


def request_plan(skus: Sequence[str], count: int, seed: int = 11) -> list[tuple[str, str]]:
    """``count`` (kind, path) requests in the storefront mix, over random keys."""
    rng = random.Random(seed)
    plan = []
    for _ in range(count):
        sku, location = rng.choice(skus), _location(rng.randrange(LOCATIONS))
        draw = rng.random()
        if draw < 0.85:
            plan.append(("sku_at_location", f"/v1/availability/{sku}/{location}"))
        elif draw < 0.90:
            plan.append(("sku_across_locations", f"/v1/availability/{sku}"))
        elif draw < 0.95:
            plan.append(("channel_sku", f"/v1/channels/SHOPIFY/{sku.lower()}"))
        else:
            plan.append(("nearby", f"/v1/availability/{sku}/{_location(2 + rng.randrange(LOCATIONS - 2))}/nearby"))
    return plan


def _drive(
    port: int, token: str, plan: list[tuple[str, str]], rate: float, connections: int, results: list[object]
) -> None:
    """The client (in its child process): request ``i`` of ``plan`` at start + i/rate, on connection i mod n."""
    headers = {"Authorization": f"Bearer {token}"}
    start = time.perf_counter() + 0.5
    latencies: list[tuple[str, float]] = []
    errors = [0]
    lock = threading.Lock()

    def connection_loop(first: int) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[tuple[str, float]] = []
        failed = 0
        for index in range(first, len(plan), connections):
            due = start + index / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            kind, path = plan[index]
            try:
                client.request("GET", path, headers=headers)
                response = client.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                client.close()
                client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append((kind, (time.perf_counter() - due) * 1000))
        client.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=connection_loop, args=(k,)) for k in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.extend([time.perf_counter() - start, errors[0], latencies])


def _client_process(
    port: int,
    token: str,
    plan: list[tuple[str, str]],
    rate: float,
    connections: int,
    out: multiprocessing.Queue[object],
) -> None:
    results: list[object] = []
    _drive(port, token, plan, rate, connections, results)
    out.put(results)


def measure(keys: int = 100_000, rate: float = 1000.0, seconds: int = 30, connections: int = 16) -> ApiLoadResult:
    model, skus = filled_model(keys)
    token = secrets.token_urlsafe(32)
    server = serve_api(model, 0, token)
    plan = request_plan(skus, int(rate * seconds))
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[object] = context.Queue()
    client = context.Process(
        target=_client_process, args=(server.server_address[1], token, plan, rate, connections, out), daemon=True
    )
    try:
        client.start()
        elapsed, errors, latencies = cast(ClientRun, tuple(out.get(timeout=seconds * 4 + 60)))  # type: ignore[arg-type]
        client.join(timeout=10)
    finally:
        server.shutdown()
        server.server_close()
    by_kind: dict[str, list[float]] = {}
    for kind, latency_ms in latencies:
        by_kind.setdefault(kind, []).append(latency_ms)
    return ApiLoadResult(
        keys=model.counts()["availability_keys"],
        target_rate=rate,
        achieved_rate=len(latencies) / elapsed if elapsed > 0 else 0.0,
        seconds=elapsed,
        connections=connections,
        latency=LatencySummary.of([latency_ms for _, latency_ms in latencies]),
        by_kind={kind: LatencySummary.of(samples) for kind, samples in sorted(by_kind.items())},
        errors=errors,
    )


def describe(result: ApiLoadResult) -> list[str]:
    def line(summary: LatencySummary) -> str:
        return (
            f"p50 {summary.p50_ms:.2f} / p95 {summary.p95_ms:.2f} / p99 {summary.p99_ms:.2f} / "
            f"max {summary.max_ms:.2f} ms ({summary.count:,} requests)"
        )

    lines = [
        f"lookup API, {result.keys:,} keys, {result.target_rate:,.0f} requests/s targeted for {result.seconds:.1f} s "
        f"over {result.connections} keep-alive connections: {result.achieved_rate:,.0f}/s achieved, "
        f"{result.errors} error(s)",
        f"  all: {line(result.latency)}",
    ]
    lines += [f"  {kind}: {line(summary)}" for kind, summary in result.by_kind.items()]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_load", description=__doc__)
    parser.add_argument("--keys", type=int, default=100_000, help="SKU-location records in the read model (100000)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s (1000)")
    parser.add_argument("--seconds", type=int, default=30, help="length of the run (30)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections of the client (16)")
    args = parser.parse_args(argv)
    for text in describe(measure(args.keys, args.rate, args.seconds, args.connections)):
        print(text, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
