"""A seeded generator of hostile input streams for the whole dataflow: structure-aware, not just noise.

Each message starts as a plausible one (a Debezium envelope of one of the tables we read, a
transaction's BEGIN or END, a channel reservation, a wish-list event, a reconcile repair) and is then, at random, made
hostile: a column of the wrong type or missing, a negative or huge quantity, an unknown SKU, location
or UPC, a far-past or far-future timestamp, deeply nested or huge JSON, truncated bytes, garbage, a
tombstone. The stream then repeats messages (a producer's retry: a new offset; a consumer's re-read:
the same offset), and reorders them across topics and partitions, as Kafka may deliver them (never
within a partition). ``Stream.messages`` are Bytewax ``KafkaSourceMessage``s for a ``TestingSource``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from bytewax.connectors.kafka import KafkaSourceMessage

from tests.debezium_events import (
    ERP_ITEMS,
    ERP_KITS,
    ERP_LISTINGS,
    ERP_LOCATIONS,
    ERP_LOTS,
    ERP_POS,
    ERP_SAFETY,
    ERP_STOCK,
    POS_STOCK,
    RESERVATIONS,
    WISHLIST,
    item_row,
    kit_row,
    listing_row,
    location_row,
    lot_row,
    mariadb_source,
    message,
    po_row,
    postgres_source,
    safety_row,
    stock_bal_row,
    store_stock_row,
)

POS_TICKETS = "pos.public.sale_ticket"
POS_LINES = "pos.public.sale_line"
ERP_TX = "erp.transaction"
POS_TX = "pos.transaction"
RECONCILE = "atp.reconcile"
TRANSACTION_TOPICS = (ERP_TX, POS_TX)

SKUS = ["TEE-1", "TEE-2", "CAP-1", "SET-1", "GHOST-1"]  # SET-1 is a kit; GHOST-1 has no item unless by chance
UPCS = {"TEE-1": "000000000017", "TEE-2": "000000000024", "CAP-1": "000000000031", "SET-1": "000000000048"}
LOCATIONS = ["DC0001", "DC0002", "ST0001", "ST0002", "XX9999"]  # XX9999 is never described
CHANNELS = ["SHOPIFY", "AMAZON", "NOSUCH"]
ODD_CODES = ["", " ", "x" * 300, "TEE-1\x00", "Ünïcødé-✓", "'; DROP TABLE x;--"]
HOSTILE_VALUES: list[Any] = [
    None, -1, 0, -(10**30), 10**30, 2**63, -(2**63), 1.5, float("inf"), "1e400", "NaN", "-3.000", "",
    "  ", "12.000", "abc", True, [], {}, [1, 2], {"a": 1}, "x" * 3000,
]  # fmt: skip
ODD_TIMES_MS = [0, -1, -(10**15), 10**15, 2**62, 253_402_300_800_000, 1]  # far past, far future, year 10000
ODD_DAYS = [-(10**6), -1, 0, 2_932_897, 10**7, 2**40]  # day numbers: far past, year 9999, beyond


@dataclass
class Stream:
    """The generated messages, and what each (topic, partition) must account for."""

    messages: list[KafkaSourceMessage[bytes | None, bytes | None]] = field(default_factory=list)
    offsets: dict[tuple[str, int], set[int]] = field(default_factory=dict)


@dataclass
class Generator:
    seed: int
    partition_base: int  # partitions partition_base.. so that the ledger's gauges of one run are its own
    partitions: int = 2
    now_ms: int = field(default_factory=lambda: int(dt.datetime.now(dt.UTC).timestamp() * 1000))
    # Which hostile kinds to leave out (see the test for why a kind is left out).
    without: frozenset[str] = frozenset()
    huge_bytes: int = 1_000_000  # the largest padding of a huge message
    rng: random.Random = field(init=False)
    binlog: int = field(init=False, default=1_000)
    lsn: int = field(init=False, default=1_000)
    gtid: int = field(init=False, default=1)
    counts: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    # -- plausible messages -------------------------------------------------------------------------

    def _sku(self) -> str:
        return self.rng.choice(ODD_CODES) if self.rng.random() < 0.03 else self.rng.choice(SKUS)

    def _location(self) -> str:
        return self.rng.choice(ODD_CODES) if self.rng.random() < 0.03 else self.rng.choice(LOCATIONS)

    def _erp_row(self, topic: str) -> dict[str, Any]:
        r, sku, loc = self.rng, self._sku(), self._location()
        qty = f"{r.choice([0, 1, 2, 5, 10, 40, 1000])}.000"
        if topic == ERP_ITEMS:
            # Preorder-only items are never a kit's parts here: a kit of a preorder-only part publishes the part's
            # inbound as available above its on-hand (a rule of atp.domain.kits, not an input's hostility).
            kind = "K" if sku == "SET-1" else r.choice("SSSSKP" if sku == "TEE-2" else "SSSSK")
            return item_row(sku, UPCS.get(sku, r.choice([None, "999999999999"])), kind, r.choice("AAAAD"))
        if topic == ERP_STOCK:
            return stock_bal_row(sku, loc, qty, r.choice(["0.000", "0.000", "1.000", qty]))
        if topic == ERP_LOCATIONS:
            return location_row(loc, "S" if loc.startswith("ST") else "D", r.choice("YYN"))
        if topic == ERP_LISTINGS:
            return listing_row(r.choice(CHANNELS), f"SH-{r.choice(SKUS)}", sku, r.choice("YYN"))
        if topic == ERP_KITS:
            return kit_row("SET-1", r.choice(["TEE-1", "CAP-1", "GHOST-1", *ODD_CODES]), r.choice([1, 1, 2, 0, -1]))
        if topic == ERP_LOTS:
            today = self.now_ms // 86_400_000
            return lot_row(sku, loc, f"L{r.randint(1, 4)}", qty, r.choice([None, today - 1, today, today + 30]))
        if topic == ERP_POS:
            today = self.now_ms // 86_400_000
            return po_row("PO1", r.randint(1, 3), sku, loc, qty, "0.000", today + r.randint(-5, 60), r.choice("OOC"))
        return safety_row(sku, loc, r.choice([0, 1, 2, 5]))

    def _pos_row(self, topic: str) -> dict[str, Any]:
        r = self.rng
        store = r.choice(["ST0001", "ST0002", "ST9999"])
        upc = r.choice([*UPCS.values(), "999999999999"])
        if topic == POS_STOCK:
            return store_stock_row(store, upc, r.choice([0, 1, 3, 12, 50]))
        ticket = r.randint(1, 30)
        if topic == POS_TICKETS:
            return {"ticket_id": ticket, "store_id": store, "status": r.choice(["OPEN", "PAID", "PAID", "VOID"])}
        return {"ticket_id": ticket, "line_no": r.randint(1, 3), "upc": upc, "qty": r.choice([1, 1, 2, -1])}

    def _mutate(self, row: dict[str, Any]) -> dict[str, Any]:
        r = self.rng
        row = dict(row)
        for _ in range(r.choice([1, 1, 2, 3])):
            what = r.random()
            if what < 0.45 and row:
                row[r.choice(list(row))] = r.choice(HOSTILE_VALUES)  # a wrong type, a negative or huge value
            elif what < 0.75 and row:
                del row[r.choice(list(row))]  # a missing column
            elif what < 0.85:
                row["EXPIRY_DT" if r.random() < 0.5 else "DUE_DT"] = r.choice(ODD_DAYS)
            else:
                row[r.choice(["UPD_TS", "updated_at", "extra"])] = r.choice(ODD_TIMES_MS)
        return row

    def _envelope(self, topic: str, row: dict[str, Any], tx: dict[str, Any] | None) -> bytes:
        r = self.rng
        table = topic.rsplit(".", 1)[1]
        if topic.startswith("erp"):
            self.binlog += r.choice([1, 1, 1, 7, -3]) if r.random() < 0.9 else r.randint(-500, 500)
            source = mariadb_source(table, self.binlog, snapshot="true" if tx is None and r.random() < 0.5 else "false")
        else:
            self.lsn += r.choice([8, 8, 16, -8])
            source = postgres_source(table, self.lsn)
        if r.random() < 0.05:
            source["ts_ms"] = r.choice(ODD_TIMES_MS)  # far-past or far-future commit time
        if r.random() < 0.02:
            del source[r.choice(list(source))]
        op = r.choice("cuurd") if r.random() < 0.97 else r.choice(["t", "x", "", "C"])
        before, after = (row, None) if op == "d" else (None if op == "c" else row, row)
        doc: dict[str, Any] = {"before": before, "after": after, "source": source, "op": op, "ts_ms": 1}
        if tx is not None:
            doc["transaction"] = tx
        return json.dumps(doc).encode()  # stdlib: it writes integers beyond 64 bits, as a hostile producer might

    def _change(self, tx: dict[str, Any] | None = None, topic: str | None = None) -> tuple[str, bytes]:
        r = self.rng
        if topic is None:
            topic = r.choice([ERP_STOCK, ERP_STOCK, ERP_ITEMS, ERP_LOCATIONS, ERP_LISTINGS, ERP_KITS, ERP_LOTS,
                              ERP_POS, ERP_SAFETY, POS_STOCK, POS_STOCK, POS_TICKETS, POS_LINES])  # fmt: skip
        row = self._erp_row(topic) if topic.startswith("erp") else self._pos_row(topic)
        if r.random() < 0.25:
            row = self._mutate(row)
        return topic, self._envelope(topic, row, tx)

    def _transaction(self) -> list[tuple[str, bytes | None]]:
        """BEGIN, some changes, END: whole, or with a change missing, repeated, counted wrong, END lost."""
        r = self.rng
        source = r.choice(["erp", "pos"])
        self.gtid += 1
        tx_id = f"0-1-{self.gtid}" if source == "erp" else f"{self.gtid}:{self.lsn}"
        topics = (
            [ERP_STOCK, ERP_STOCK, ERP_SAFETY, ERP_KITS, ERP_ITEMS, ERP_LISTINGS]
            if source == "erp"
            else [POS_STOCK, POS_TICKETS, POS_LINES]
        )
        chosen = [r.choice(topics) for _ in range(r.randint(1, 5))]
        changes = [
            self._change({"id": tx_id, "total_order": order, "data_collection_order": order}, topic)
            for order, topic in enumerate(chosen, 1)
        ]
        collections: dict[str, int] = {}
        for topic in chosen:
            name = topic.split(".", 1)[1]
            collections[name] = collections.get(name, 0) + 1
        count = len(changes) + (r.choice([-1, 1, 5]) if r.random() < 0.1 else 0)
        tx_topic = ERP_TX if source == "erp" else POS_TX
        begin = {"status": "BEGIN", "id": tx_id, "event_count": None, "data_collections": None, "ts_ms": 1}
        end = {
            "status": "END",
            "id": tx_id,
            "event_count": count,
            "data_collections": [{"data_collection": k, "event_count": v} for k, v in collections.items()],
            "ts_ms": 1,
        }
        out: list[tuple[str, bytes | None]] = [(tx_topic, orjson.dumps(begin)), *changes]
        if r.random() < 0.9:
            out.append((tx_topic, orjson.dumps(end)))
        if r.random() < 0.1 and len(out) > 2:
            del out[r.randint(1, len(out) - 1)]  # a change (or the END) never comes
        if r.random() < 0.05:
            doc = r.choice([begin, end]) | {r.choice(["id", "event_count", "status"]): r.choice(HOSTILE_VALUES)}
            out.append((tx_topic, json.dumps(doc).encode()))
        return out

    def _reservation(self) -> tuple[str, bytes]:
        r = self.rng
        op = (
            r.choice(["HOLD", "HOLD", "CONFIRM", "RELEASE", "FULFILL"])
            if r.random() < 0.95
            else r.choice(["hold", "", "CANCEL", None, 7])
        )
        rid = f"cart-{r.randint(1, 40)}"
        soon = dt.datetime.fromtimestamp((self.now_ms + r.randint(-2_000, 3_000)) / 1000, tz=dt.UTC).isoformat()
        expires = r.choice([soon, soon, "2099-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                            "1970-01-01T00:00:00Z", "not a date", None, 12, "2026-02-30T10:00:00Z"])  # fmt: skip
        occurred = r.choice(["2026-11-22T10:00:00Z", soon, "1900-01-01T00:00:00Z", "9999-12-31T23:59:59Z",
                             "2026-11-22T10:00:00", "yesterday"])  # fmt: skip
        doc: dict[str, Any] = {
            "event_id": f"{rid}-{op}" if r.random() < 0.8 else f"{rid}-{r.randint(1, 10**6)}",
            "reservation_id": rid,
            "channel": r.choice(["SHOPIFY", "SHOPIFY", "AMAZON", "NOSUCH"]),
            "channel_sku": f"SH-{self._sku()}",
            "location": self._location(),
            "qty": r.choice([1, 1, 2, 3, 0, -1, 10**9, 2**63, "3", 1.5, None]),
            "op": op,
            "expires_at": expires,
            "occurred_at": occurred,
            "customer_ref": "jane@shop.example",
        }
        if r.random() < 0.1:
            doc = self._mutate(doc)
        return RESERVATIONS, json.dumps(doc).encode()

    def _wish(self) -> tuple[str, bytes]:
        """A wish-list event: any op (FORGET names only the customer), consent of any JSON type, odd times."""
        r = self.rng
        op = r.choice(["WISH", "WISH", "WISH", "WITHDRAW", "CONSENT_WITHDRAWN", "FORGET", "NOSUCH", None])
        wish_id = f"wish-{r.randint(1, 30)}"
        soon = dt.datetime.fromtimestamp((self.now_ms + r.randint(-2_000, 3_000)) / 1000, tz=dt.UTC).isoformat()
        doc: dict[str, Any] = {
            "event_id": f"{wish_id}-{op}" if r.random() < 0.8 else f"{wish_id}-{r.randint(1, 10**6)}",
            "wish_id": wish_id,
            "customer_ref": r.choice(["jane@shop.example", "cust-4711", "cust-0815", "", None]),
            "channel": r.choice(["SHOPIFY", "SHOPIFY", "AMAZON", "NOSUCH"]),
            "channel_sku": f"SH-{self._sku()}",
            "consent": r.choice([True, True, False, None, "yes", 1]),
            "op": op,
            "occurred_at": r.choice([soon, soon, "2026-11-22T10:00:00Z", "9999-12-31T23:59:59Z", "yesterday"]),
        }
        if op == "FORGET":
            for name in ("wish_id", "channel", "channel_sku", "consent", "customer_ref"):
                doc.pop(name)
            digest = hashlib.sha256(str(r.choice(["cust-4711", "cust-0815"])).encode()).hexdigest()
            doc["customer_ref_sha256"] = r.choice([digest, digest, digest.upper(), "", None, 42])
        if r.random() < 0.1:
            doc = self._mutate(doc)
        return WISHLIST, json.dumps(doc).encode()

    def _repair(self) -> tuple[str, bytes]:
        r = self.rng
        doc: dict[str, Any] = {
            "run_id": f"run-{r.randint(1, 3)}",
            "sku": self._sku(),
            "location": self._location()[:6],
            "location_type": r.choice(["D", "S", "X"]),
            "on_hand": r.choice([0, 3, 10, -1, 10**13]),
            "quality_hold": r.choice([0, 0, 1, 50]),
            "lots": r.choice([[], [{"lot": "L1", "qty": 2, "expiry_day": r.choice([None, *ODD_DAYS[:3]])}]]),
            "observed_version": r.choice([0, 1, 2, 5, -1]),
            "read_at_ms": r.choice([self.now_ms, 0, *ODD_TIMES_MS[:2]]),
            "fields": ["on_hand"],
        }
        if r.random() < 0.2:
            doc = self._mutate(doc)
        return RECONCILE, json.dumps(doc).encode()

    # -- hostile bytes ------------------------------------------------------------------------------

    def _raw(self) -> tuple[str, bytes | None]:
        r = self.rng
        topic, value = self._change() if r.random() < 0.7 else self._reservation()
        kind = r.choice(
            ["deep", "deeply nested", "huge", "huge unparsable", "truncated", "garbage", "tombstone", "not an object",
             "empty object"]
        )  # fmt: skip
        if kind in self.without:
            return topic, value
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if kind in ("deep", "deeply nested"):
            depth = r.choice([20, 100, 200] if kind == "deep" else [300, 1_100, 5_000, 100_000])
            return topic, b'{"after":' + b"[" * depth + b"]" * depth + b"}"
        if kind == "huge":  # a message of up to a megabyte that parses
            try:
                doc = orjson.loads(value)
            except orjson.JSONDecodeError:  # a value beyond what JSON parsers take (a huge integer, Infinity)
                doc = {"op": "u", "after": {"ITEM_NO": "TEE-1"}}
            doc["padding"] = "x" * r.choice([100_000, self.huge_bytes])
            return topic, orjson.dumps(doc)
        if kind == "huge unparsable":  # as much that does not parse
            return topic, b'{"after": "' + b"x" * r.choice([100_000, self.huge_bytes])
        if kind == "truncated":
            return topic, value[: r.randint(0, len(value) - 1)]
        if kind == "garbage":
            return topic, r.randbytes(r.randint(0, 80))
        if kind == "tombstone":
            return topic, None
        if kind == "not an object":
            return topic, r.choice([b"[]", b"null", b"42", b'"text"', b"true"])
        return topic, b"{}"

    # -- the stream ---------------------------------------------------------------------------------

    def contents(self, count: int) -> list[tuple[str, bytes | None]]:
        makers: list[tuple[float, Callable[[], list[tuple[str, bytes | None]]]]] = [
            (0.40, lambda: [self._change()]),
            (0.15, self._transaction),
            (0.19, lambda: [self._reservation()]),
            (0.06, lambda: [self._wish()]),
            (0.03, lambda: [self._repair()]),
            (0.17, lambda: [self._raw()]),
        ]
        # The universe first, so that much of what follows can be used (or be dead-lettered for a reason).
        out: list[tuple[str, bytes | None]] = []
        for sku in SKUS[:4]:
            row = item_row(sku, UPCS[sku], "K" if sku == "SET-1" else "S")
            out.append((ERP_ITEMS, self._envelope(ERP_ITEMS, row, None)))
        for loc in LOCATIONS[:4]:
            row = location_row(loc, "S" if loc.startswith("ST") else "D")
            out.append((ERP_LOCATIONS, self._envelope(ERP_LOCATIONS, row, None)))
        while len(out) < count:
            pick, total = self.rng.random(), 0.0
            for weight, make in makers:
                total += weight
                if pick < total:
                    out += make()
                    break
        return out[:count]

    def stream(self, count: int) -> Stream:
        r = self.rng
        contents = self.contents(count)
        # A producer's retry: the same content again, later, at a new offset.
        for _ in range(count // 30):
            contents.insert(r.randint(0, len(contents)), contents[r.randint(0, len(contents) - 1)])
        # Delivered out of order across topics and partitions (Kafka keeps order only within a partition).
        for start in range(0, len(contents), 8):
            if r.random() < 0.3:
                window = contents[start : start + 8]
                r.shuffle(window)
                contents[start : start + 8] = window
        stream = Stream()
        next_offset: dict[tuple[str, int], int] = {}
        for topic, value in contents:
            single = topic in TRANSACTION_TOPICS  # one partition: BEGIN and END in commit order
            partition = self.partition_base + (0 if single else r.randrange(self.partitions))
            offset = next_offset.get((topic, partition), 0)
            next_offset[(topic, partition)] = offset + 1
            stream.offsets.setdefault((topic, partition), set()).add(offset)
            stream.messages.append(message(topic, value, offset, partition))
            if r.random() < 0.01:  # a consumer's re-read: the same message at the same offset
                stream.messages.append(message(topic, value, offset, partition))
        return stream
