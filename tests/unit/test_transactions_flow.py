"""Property: whatever order Kafka hands over a source's transactions in, no record shows part of one.

Random ERP transactions (stock at two DCs, planner safety stock, a kit's bill of materials)
are split the way Debezium splits them: one message per row, on the row's table topic, in
the partition of the row's key, with BEGIN/END on the one-partition transaction topic.
Each partition keeps its order, as Kafka does; across partitions the messages are
interleaved at random, some are delivered twice, and END comes before or after the data.
The whole dataflow runs in-process on them, with epochs of a few milliseconds so that
they close at random points of the stream.

The oracle applies the same transactions in commit order, one at a time, and lists the
state each key (a SKU at a location, a kit at a location, a channel listing) had after
each committed prefix. For every key, the records published must be states from that
list, in its order, ending at its last one, with versions 1, 2, 3, ...: the published
sequence is the oracle's, coalesced per epoch (when each transaction has an epoch of its
own, it is the oracle's sequence itself).
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from dataclasses import dataclass, field

import orjson
from bytewax.testing import TestingSink, run_main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atp.domain.channels import ChannelRecord
from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import (
    ERP_ITEMS,
    ERP_KITS,
    ERP_LISTINGS,
    ERP_LOCATIONS,
    ERP_SAFETY,
    ERP_STOCK,
    item_row,
    kit_row,
    listing_row,
    location_row,
    mariadb_source,
    safety_row,
    stock_bal_row,
)
from tests.debezium_events import message as kafka_message
from tests.paced_source import PacedSource

STOCKED = ("S1", "S2", "C1", "C2")
KIT = "K1"
DCS = ("DC0001", "DC0002")
TX_TOPIC = "erp.transaction"
EXAMPLES = int(os.environ.get("ATP_TX_EXAMPLES", "30"))

Op = tuple[str, str, str, int]  # (table, sku or component, location, quantity)

ops = st.one_of(
    st.tuples(st.just("stock"), st.sampled_from(STOCKED), st.sampled_from(DCS), st.integers(0, 20)),
    st.tuples(st.just("safety"), st.sampled_from(STOCKED), st.sampled_from(DCS), st.integers(0, 5)),
    st.tuples(st.just("bom"), st.sampled_from(("C1", "C2")), st.just(""), st.integers(1, 3)),
)
transactions = st.lists(st.lists(ops, min_size=1, max_size=5), min_size=1, max_size=7)


# -- the oracle: committed prefixes, one transaction at a time ----------------------------------------


@dataclass
class Erp:
    stock: dict[tuple[str, str], int] = field(default_factory=dict)
    safety: dict[tuple[str, str], int] = field(default_factory=dict)
    bom: dict[str, int] = field(default_factory=dict)

    def apply(self, op: Op) -> None:
        table, sku, loc, qty = op
        if table == "stock":
            self.stock[(sku, loc)] = qty
        elif table == "safety":
            self.safety[(sku, loc)] = qty
        else:
            self.bom[sku] = qty

    def has(self, sku: str, loc: str) -> bool:
        return (sku, loc) in self.stock or (sku, loc) in self.safety

    def location(self, sku: str, loc: str) -> tuple[int, int, int]:
        on_hand, safety = self.stock.get((sku, loc), 0), self.safety.get((sku, loc), 0)
        return on_hand, safety, max(0, on_hand - safety)

    def view(self) -> dict[str, tuple[int, ...]]:
        """What every key shows in this committed state."""
        shown: dict[str, tuple[int, ...]] = {}
        for sku in STOCKED:
            for loc in DCS:
                if self.has(sku, loc):
                    shown[f"{sku}@{loc}"] = self.location(sku, loc)
        for loc in DCS:
            if self.bom and any(self.has(part, loc) for part in self.bom):
                figures = {part: self.location(part, loc) for part in self.bom}
                on_hand = min(figures[p][0] // q for p, q in self.bom.items())
                available = min(figures[p][2] // q for p, q in self.bom.items())
                shown[f"{KIT}@{loc}"] = (on_hand, available)
        shown["SHOPIFY/S1"] = (sum(self.location("S1", loc)[2] for loc in DCS if self.has("S1", loc)),)
        return shown


def oracle(txs: list[list[Op]]) -> dict[str, list[tuple[int, ...]]]:
    """Per key, the states it passed through, transaction by transaction (repeats dropped)."""
    erp, seen = Erp(), {}
    for tx in [[], *txs]:  # [] : the reference data alone, before the first transaction
        for op in tx:
            erp.apply(op)
        for key, shown in erp.view().items():
            states = seen.setdefault(key, [])
            if not states or states[-1] != shown:
                states.append(shown)
    return seen


# -- Debezium's view of the same transactions ----------------------------------------------------------


def _row(op: Op) -> tuple[str, dict[str, object], str]:
    table, sku, loc, qty = op
    if table == "stock":
        return ERP_STOCK, stock_bal_row(sku, loc, f"{qty}.000"), f"{sku}|{loc}"
    if table == "safety":
        return ERP_SAFETY, safety_row(sku, loc, qty), f"{sku}|{loc}"
    return ERP_KITS, kit_row(KIT, sku, qty), f"{KIT}|{sku}"


def _value(topic: str, row: dict[str, object], pos: int, tx: tuple[str, int] | None, op: str = "u") -> bytes:
    doc = {"before": None, "after": row, "op": op, "ts_ms": 1, "source": mariadb_source(topic.rsplit(".")[-1], pos)}
    if tx is not None:
        doc["transaction"] = {"id": tx[0], "total_order": tx[1], "data_collection_order": tx[1]}
    return orjson.dumps(doc)


def debezium_streams(txs: list[list[Op]]) -> dict[tuple[str, int], list[bytes]]:
    """Every partition's messages in its order: row changes by table and key, BEGIN/END on one partition."""
    streams: dict[tuple[str, int], list[bytes]] = {}
    for number, tx in enumerate(txs, start=1):
        gtid = f"0-1-{number}"
        streams.setdefault((TX_TOPIC, 0), []).append(orjson.dumps({"status": "BEGIN", "id": gtid, "event_count": None}))
        for order, op in enumerate(tx, start=1):
            topic, row, key = _row(op)
            partition = zlib.crc32(key.encode()) % 4
            value = _value(topic, row, 10_000 * number + order, (gtid, order))
            streams.setdefault((topic, partition), []).append(value)
        end = {"status": "END", "id": gtid, "event_count": len(tx), "data_collections": [], "ts_ms": 1}
        streams[(TX_TOPIC, 0)].append(orjson.dumps(end))
    return streams


def reference_data() -> list[object]:
    """The snapshot the connector read first: items, locations, a listing (no stock yet)."""
    rows = [(ERP_ITEMS, item_row(sku, None)) for sku in STOCKED]
    rows += [(ERP_ITEMS, item_row(KIT, None, item_type="K"))]
    rows += [(ERP_LOCATIONS, location_row(loc)) for loc in DCS]
    rows += [(ERP_LISTINGS, listing_row("SHOPIFY", "S1", "S1"))]
    return [kafka_message(topic, _value(topic, row, 1, None, op="r"), n) for n, (topic, row) in enumerate(rows)]


def delivered(streams: dict[tuple[str, int], list[bytes]], data) -> list[list[object]]:  # type: ignore[no-untyped-def]
    """The partitions interleaved at random, some messages twice (later, in their partition), in random batches."""
    queues = {where: list(values) for where, values in streams.items()}
    for where, values in list(queues.items()):
        repeats = data.draw(st.lists(st.sampled_from(values), max_size=2), label=f"repeats {where}")
        values.extend(repeats)
    offsets = dict.fromkeys(queues, 0)
    order: list[object] = []
    while any(queues.values()):
        where = data.draw(st.sampled_from(sorted(w for w, q in queues.items() if q)), label="next partition")
        topic, partition = where
        order.append(kafka_message(topic, queues[where].pop(0), offsets[where], partition))
        offsets[where] += 1
    batches: list[list[object]] = []
    while order:
        size = data.draw(st.integers(1, 4), label="batch")
        batches.append(order[:size])
        order = order[size:]
    return batches


def published(out: list[object]) -> dict[str, list[tuple[int, tuple[int, ...]]]]:
    """Per key, (version, figures) of every record, in version order."""
    shown: dict[str, list[tuple[int, tuple[int, ...]]]] = {}
    for r in out:
        if isinstance(r, AvailabilityRecord) and r.sku == KIT:
            shown.setdefault(r.key, []).append((r.version, (r.on_hand, r.available)))
        elif isinstance(r, AvailabilityRecord):
            shown.setdefault(r.key, []).append((r.version, (r.on_hand, r.safety_stock, r.available)))
        elif isinstance(r, ChannelRecord):
            shown.setdefault(f"{r.channel}/{r.channel_sku}", []).append((r.version, (r.available,)))
    return {key: sorted(records) for key, records in shown.items()}


def is_subsequence(shown: list[tuple[int, ...]], states: list[tuple[int, ...]]) -> bool:
    remaining = iter(states)
    return all(any(figures == state for state in remaining) for figures in shown)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(txs=transactions, data=st.data())
def test_no_record_shows_part_of_a_source_transaction_whatever_the_delivery(txs, data):
    schedule = [(0.0, m) for m in reference_data()]
    batches = delivered(debezium_streams(txs), data)
    schedule += [(0.01 + 0.003 * n, m) for n, batch in enumerate(batches) for m in batch]
    out: list[object] = []
    config = settings_from_fields(dc_safety_stock=0, store_safety_stock=0, low_stock_threshold=2)
    flow = availability_flow(config, PacedSource(schedule, linger_s=0.05), TestingSink(out))
    run_main(flow, epoch_interval=dt.timedelta(milliseconds=4))

    assert [d for d in out if isinstance(d, DeadLetter)] == []
    expected = oracle(txs)
    shown = published(out)
    assert set(shown) == set(expected)
    for key, records in shown.items():
        versions = [version for version, _ in records]
        figures = [f for _, f in records]
        assert versions == list(range(1, len(records) + 1)), f"{key}: versions {versions}"
        assert is_subsequence(figures, expected[key]), f"{key}: {figures} is not a run of {expected[key]}"
        assert figures[-1] == expected[key][-1], f"{key}: ends at {figures[-1]}, the source at {expected[key][-1]}"
