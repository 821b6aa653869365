"""Pre-fill the dataflow's input topics with Debezium-shaped JSON and channel reservations (no Debezium needed).

    .venv/bin/python -m bench.quix_peer.fill --bootstrap 127.0.0.1:49092 --items 2000 --dcs 2 --stores 8 \
        --changes 100000 [--reset]

What is written (shapes as ``tests/debezium_events.py`` and ``connectors/cdc`` read them):
- ERP snapshot (op ``r``): ``LOCATION`` (DCs and stores), ``ITEM_MASTER`` (stocked, some preorder, some
  discontinued), ``CHANNEL_LISTING`` (one SHOPIFY listing per item), ``SAFETY_STK`` (``'*'`` and per-DC
  overrides), ``PO_LINE`` (open lines at the first DC), ``STOCK_LOT`` (an expired lot at the first DC),
  ``STOCK_BAL`` (every item at every DC);
- POS snapshot: ``store_stock`` (every item at every store, by UPC);
- then ``--changes`` changes: ``STOCK_BAL`` and ``store_stock`` updates (op ``u``, increasing positions) and
  ``orders.reservations`` events: HOLD (lapsing in 6 hours, so no hold lapses during a run), CONFIRM and
  RELEASE of earlier holds, and re-sent duplicates.

Left out on purpose (the peer does not cover them): ``KIT_COMPONENT``, ``sale_ticket``/``sale_line``,
``atp.reconcile``. Messages are keyed by their source row (Debezium's key) or reservation id.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

from bench.topics import produce_all
from connectors.cdc.decode import CDC_TOPICS, ERP_TOPIC_PREFIX, POS_TOPIC_PREFIX
from connectors.topics import EVENT_INPUTS, PARTITIONS, RESERVATIONS

INPUT_TOPICS: tuple[str, ...] = (*CDC_TOPICS, *EVENT_INPUTS)
HOLD_LIFETIME = dt.timedelta(hours=6)


class Message(NamedTuple):
    topic: str
    key: bytes
    value: bytes


@dataclass
class ChangeLog:
    """Increasing source positions, as a MariaDB binlog and a PostgreSQL WAL hand them out."""

    ts_ms: int
    binlog_pos: int = 4
    lsn: int = 1

    def erp_source(self, table: str, snapshot: bool) -> dict[str, Any]:
        self.binlog_pos += 1
        self.ts_ms += 1
        return {
            "version": "3.5.0.Final",
            "connector": "mariadb",
            "name": "erp",
            "ts_ms": self.ts_ms,
            "snapshot": "true" if snapshot else "false",
            "db": "erp",
            "table": table,
            "server_id": 1,
            "gtid": None,
            "file": "mysql-bin.000001",
            "pos": self.binlog_pos,
            "row": 0,
            "thread": 7,
            "query": None,
        }

    def pos_source(self, table: str, snapshot: bool) -> dict[str, Any]:
        self.lsn += 1
        self.ts_ms += 1
        return {
            "version": "3.5.0.Final",
            "connector": "postgresql",
            "name": "pos",
            "ts_ms": self.ts_ms,
            "ts_us": self.ts_ms * 1000,
            "snapshot": "true" if snapshot else "false",
            "db": "pos",
            "schema": "public",
            "table": table,
            "txId": self.lsn,
            "lsn": self.lsn,
            "xmin": None,
        }


def _envelope(op: str, before: dict[str, Any] | None, after: dict[str, Any], source: dict[str, Any]) -> bytes:
    return orjson.dumps({"before": before, "after": after, "source": source, "op": op, "ts_ms": source["ts_ms"] + 5})


def _erp(
    log: ChangeLog, table: str, keys: tuple[str, ...], after: dict[str, Any], before: dict[str, Any] | None = None
) -> Message:
    op = "r" if before is None else "u"
    key = orjson.dumps({k: after[k] for k in keys})
    return Message(ERP_TOPIC_PREFIX + table, key, _envelope(op, before, after, log.erp_source(table, before is None)))


def _pos(
    log: ChangeLog, table: str, keys: tuple[str, ...], after: dict[str, Any], before: dict[str, Any] | None = None
) -> Message:
    op = "r" if before is None else "u"
    key = orjson.dumps({k: after[k] for k in keys})
    return Message(POS_TOPIC_PREFIX + table, key, _envelope(op, before, after, log.pos_source(table, before is None)))


@dataclass(frozen=True)
class Size:
    items: int
    dcs: int
    stores: int
    changes: int
    seed: int


@dataclass
class Shop:
    skus: list[str]
    upc_of: dict[str, str]
    dcs: list[str]
    stores: list[str]
    dc_on_hand: dict[tuple[str, str], int] = field(default_factory=dict)
    shelf: dict[tuple[str, str], int] = field(default_factory=dict)
    open_holds: list[tuple[str, str, str, int]] = field(default_factory=list)  # (reservation id, sku, location, qty)


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _reservation(rid: str, op: str, sku: str, location: str, qty: int, now: dt.datetime, event_id: str) -> Message:
    doc = {
        "event_id": event_id,
        "reservation_id": rid,
        "channel": "SHOPIFY",
        "channel_sku": sku.lower(),
        "location": location,
        "qty": qty,
        "op": op,
        "expires_at": _iso(now + HOLD_LIFETIME) if op == "HOLD" else None,
        "occurred_at": _iso(now),
        "customer_ref": "cust-bench",
    }
    return Message(RESERVATIONS, rid.encode(), orjson.dumps(doc))


def messages(size: Size, now: dt.datetime) -> Iterator[Message]:
    """The whole workload, in the order it is produced."""
    rng = random.Random(size.seed)
    row: dict[str, Any]
    log = ChangeLog(ts_ms=int(now.timestamp() * 1000) - 3_600_000)
    today = (now.date() - dt.date(1970, 1, 1)).days
    skus = [f"SKU-{n:06d}" for n in range(1, size.items + 1)]
    shop = Shop(
        skus=skus,
        upc_of={sku: f"{400000000000 + n:012d}" for n, sku in enumerate(skus, start=1)},
        dcs=[f"DC{n:04d}" for n in range(1, size.dcs + 1)],
        stores=[f"ST{n:04d}" for n in range(1, size.stores + 1)],
    )
    for code in shop.dcs + shop.stores:
        row = {
            "LOC_CD": code.ljust(6),
            "LOC_TYPE": "D" if code.startswith("DC") else "S",
            "LOC_NAME": f"Location {code}",
            "LATITUDE": "48.850000",
            "LONGITUDE": "2.350000",
            "SHIP_FROM_FLG": "Y",
        }
        yield _erp(log, "LOCATION", ("LOC_CD",), row)
    for n, sku in enumerate(skus):
        item_type, status = ("P", "A") if n % 20 == 7 else ("S", "D" if n % 50 == 3 else "A")
        row = {
            "ITEM_NO": sku,
            "STYLE_NO": sku[:7],
            "DESCR": "Tee",
            "COLOR_CD": "BLK",
            "SIZE_CD": "M",
            "UPC": shop.upc_of[sku],
            "ITEM_TYPE": item_type,
            "STATUS_FLG": status,
            "UPD_TS": log.ts_ms,
        }
        yield _erp(log, "ITEM_MASTER", ("ITEM_NO",), row)
        yield _erp(
            log,
            "CHANNEL_LISTING",
            ("CHANNEL_CD", "CHANNEL_SKU"),
            {"CHANNEL_CD": "SHOPIFY", "CHANNEL_SKU": sku.lower(), "ITEM_NO": sku, "ACTIVE_FLG": "Y"},
        )
        if n % 20 == 1:
            yield _erp(log, "SAFETY_STK", ("ITEM_NO", "LOC_CD"), {"ITEM_NO": sku, "LOC_CD": "*", "SS_QTY": 2})
        if n % 20 == 2:
            yield _erp(log, "SAFETY_STK", ("ITEM_NO", "LOC_CD"), {"ITEM_NO": sku, "LOC_CD": shop.dcs[0], "SS_QTY": 3})
        if n % 10 == 4 or item_type == "P":
            row = {
                "PO_NO": f"PO{n:07d}",
                "LINE_NO": 1,
                "ITEM_NO": sku,
                "LOC_CD": shop.dcs[0],
                "QTY_ORD": "40.000",
                "QTY_RCV": "10.000",
                "DUE_DT": today + 10,
                "STATUS": "O",
            }
            yield _erp(log, "PO_LINE", ("PO_NO", "LINE_NO"), row)
        if n % 20 == 5:
            row = {"ITEM_NO": sku, "LOC_CD": shop.dcs[0], "LOT_NO": f"L{n}", "QTY": "2.000", "EXPIRY_DT": today - 1}
            yield _erp(log, "STOCK_LOT", ("ITEM_NO", "LOC_CD", "LOT_NO"), row)
    for sku in skus:
        for dc in shop.dcs:
            on_hand, hold = rng.randint(0, 50), rng.choice((0, 0, 0, 1, 2))
            shop.dc_on_hand[(sku, dc)] = on_hand
            row = {
                "ITEM_NO": sku,
                "LOC_CD": dc,
                "QTY_OH": f"{on_hand}.000",
                "QTY_HOLD": f"{hold}.000",
                "UPD_TS": log.ts_ms,
            }
            yield _erp(log, "STOCK_BAL", ("ITEM_NO", "LOC_CD"), row)
        for store in shop.stores:
            on_hand = rng.randint(0, 20)
            shop.shelf[(store, shop.upc_of[sku])] = on_hand
            row = {"store_id": store, "upc": shop.upc_of[sku], "on_hand": on_hand, "updated_at": log.ts_ms * 1000}
            yield _pos(log, "store_stock", ("store_id", "upc"), row)
    yield from _changes(size, shop, log, rng, now)


def _changes(size: Size, shop: Shop, log: ChangeLog, rng: random.Random, now: dt.datetime) -> Iterator[Message]:
    for n in range(size.changes):
        sku = rng.choice(shop.skus)
        kind = rng.random()
        if kind < 0.35:
            dc = rng.choice(shop.dcs)
            old = shop.dc_on_hand[(sku, dc)]
            new = max(0, old + rng.choice((-3, -2, -1, -1, 1, 24)))
            shop.dc_on_hand[(sku, dc)] = new
            before = {"ITEM_NO": sku, "LOC_CD": dc, "QTY_OH": f"{old}.000", "QTY_HOLD": "0.000", "UPD_TS": log.ts_ms}
            after = before | {"QTY_OH": f"{new}.000", "UPD_TS": log.ts_ms + 1}
            yield _erp(log, "STOCK_BAL", ("ITEM_NO", "LOC_CD"), after, before)
        elif kind < 0.65 and shop.stores:
            store, upc = rng.choice(shop.stores), shop.upc_of[sku]
            old = shop.shelf[(store, upc)]
            new = old - 1 if old > 0 else old + 12
            shop.shelf[(store, upc)] = new
            before = {"store_id": store, "upc": upc, "on_hand": old, "updated_at": log.ts_ms * 1000}
            after = before | {"on_hand": new, "updated_at": log.ts_ms * 1000 + 1}
            yield _pos(log, "store_stock", ("store_id", "upc"), after, before)
        elif kind < 0.85 or not shop.open_holds:
            rid, location, qty = f"cart-{n:09d}", rng.choice(shop.dcs + shop.stores), rng.choice((1, 1, 2))
            shop.open_holds.append((rid, sku, location, qty))
            yield _reservation(rid, "HOLD", sku, location, qty, now, f"{rid}-hold")
        else:
            index = rng.randrange(len(shop.open_holds))
            rid, held_sku, location, qty = shop.open_holds[index]
            pick = rng.random()
            if pick < 0.15:  # a channel re-sends the HOLD: a duplicate changes nothing
                yield _reservation(rid, "HOLD", held_sku, location, qty, now, f"{rid}-hold")
                continue
            shop.open_holds[index] = shop.open_holds[-1]
            shop.open_holds.pop()
            op = "CONFIRM" if pick < 0.6 else "RELEASE"
            yield _reservation(rid, op, held_sku, location, qty, now, f"{rid}-{op.lower()}")


def _client(bootstrap: str) -> dict[str, Any]:
    return {"bootstrap.servers": bootstrap}


def input_watermarks(bootstrap: str) -> dict[tuple[str, int], tuple[int, int]]:
    """(low, high) of every partition of the input topics."""
    consumer = Consumer(_client(bootstrap) | {"group.id": "atp-quix-peer-watermarks"})
    try:
        marks = {}
        for topic in INPUT_TOPICS:
            metadata = consumer.list_topics(topic, timeout=10)
            for index in metadata.topics[topic].partitions:
                marks[(topic, index)] = _watermark(consumer, TopicPartition(topic, index))
        return marks
    finally:
        consumer.close()


def _watermark(consumer: Consumer, partition: TopicPartition) -> tuple[int, int]:
    """(low, high) of one partition, waiting up to 15 s for a topic just created to get its leader."""
    deadline = time.monotonic() + 15
    while True:
        try:
            low, high = consumer.get_watermark_offsets(partition, timeout=10)
            return low, high
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def ensure_inputs(bootstrap: str) -> None:
    """Create the input topics with the flow's partition count (idempotent)."""
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient(_client(bootstrap))
    existing = set(admin.list_topics(timeout=10).topics)
    missing = [NewTopic(t, num_partitions=PARTITIONS, replication_factor=1) for t in INPUT_TOPICS if t not in existing]
    for future in admin.create_topics(missing, request_timeout=15).values() if missing else ():
        future.result()


def empty_inputs(bootstrap: str) -> None:
    admin = AdminClient(_client(bootstrap))
    cut = [TopicPartition(t, p, high) for (t, p), (low, high) in input_watermarks(bootstrap).items() if high > low]
    for future in admin.delete_records(cut, request_timeout=30).values() if cut else ():
        future.result()


def produce(bootstrap: str, workload: Iterator[Message]) -> int:
    out = Producer(_client(bootstrap) | {"linger.ms": 20, "queue.buffering.max.messages": 500000, "acks": "all"})
    count, unacknowledged = produce_all(out, workload)
    if unacknowledged:
        raise RuntimeError("kafka did not acknowledge every message within 120 s")
    return count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.quix_peer.fill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", required=True, help="host:port of the Kafka broker")
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--dcs", type=int, default=2)
    parser.add_argument("--stores", type=int, default=8)
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reset", action="store_true", help="delete what the input topics hold first")
    return parser


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"fill: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str]) -> int:
    parser = _parser()
    parser.__class__ = _Parser
    args = parser.parse_args(argv)
    for name in ("items", "dcs", "changes"):
        if getattr(args, name) < 1:
            print(f"fill: --{name} must be at least 1", file=sys.stderr)
            return 2
    if args.stores < 0:
        print("fill: --stores must not be negative", file=sys.stderr)
        return 2
    ensure_inputs(args.bootstrap)
    if args.reset:
        empty_inputs(args.bootstrap)
    held = sum(high - low for low, high in input_watermarks(args.bootstrap).values())
    if held:
        print(f"fill: the input topics already hold {held} messages (use --reset)", file=sys.stderr)
        return 2
    size = Size(args.items, args.dcs, args.stores, args.changes, args.seed)
    count = produce(args.bootstrap, messages(size, dt.datetime.now(dt.UTC)))
    print(f"fill: {count} messages written to {len(INPUT_TOPICS)} input topics at {args.bootstrap}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
