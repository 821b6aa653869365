"""The Quix Streams peer of ``flows/availability.py``: the same input topics, our decoders and rules.

    PYTHONPATH=. bench/.venv-quix/bin/python -m bench.quix_peer.app --bootstrap 127.0.0.1:49092 [--group G]

Topology (``group_by`` re-keys through a Kafka repartition topic; ``stateful`` keeps RocksDB state):

    12 input topics ─► concat ─► decode ─┬─► group_by(upc) ─► resolve_upc ──────────────────────┐
                                         ├─► group_by(location) ─► check_location ─┐             │
                                         ├─ ListingChanged ────────────────────────┴─► group_by(listing)
                                         │                              ─► resolve_listing ─────┤
                                         ├─ ERP stock, items, lots, POs, safety stock ──────────┴─► group_by(sku)
                                         │                                                ─► availability ─┐
                                         └─ dead letters ──────────────────────────────────────────────────┴─► outputs

Outputs (JSON): ``bench.quix.availability`` (key ``sku@location``), ``bench.quix.alerts``, ``bench.quix.dlq``.

Covered: ``ITEM_MASTER``, ``STOCK_BAL``, ``STOCK_LOT``, ``PO_LINE``, ``SAFETY_STK``, ``LOCATION``,
``CHANNEL_LISTING``, POS ``store_stock`` (through the UPC join), ``orders.reservations``
(HOLD/CONFIRM/RELEASE/FULFILL through ``check_location`` and ``resolve_listing``), ``atp.reconcile``.
Left out: kits (``KIT_COMPONENT``, ``explode_kits``, ``kits``), POS sales (``sale_ticket``,
``sale_line``, ``join_tickets``: they only matter with the dynamic safety rule, off by default),
the channel steps and topics, the input ledger and metrics. Quix has no per-key timers: a deadline
(hold lapse, lot expiry, fulfil grace, a reference waited for in vain) takes effect at the key's
next input, never on its own; the bench's inputs hold no deadline that passes during a run.

It stops by itself once every input message and every message of its repartition topics has been
taken (it compares its own counts with the topics' offsets), and prints one JSON summary line.
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, TopicPartition
from quixstreams import Application
from quixstreams.models import TopicConfig
from quixstreams.state.rocksdb import RocksDBOptions

from atp.domain.records import AlertRecord, AvailabilityRecord
from atp.rule_settings import rules_from
from atp.settings import load_settings
from bench.quix_peer import steps
from bench.quix_peer.serde import (
    OrjsonSerializer,
    PickleDeserializer,
    PickleSerializer,
    output_dict,
    pickle_dumps,
    pickle_loads,
)
from bench.quix_peer.stack import QUIX_ENVIRONMENT
from connectors import topics
from connectors.cdc.decode import CDC_TOPICS
from flows import routing

INPUT_TOPICS: tuple[str, ...] = (*CDC_TOPICS, *topics.EVENT_INPUTS)
OUTPUT_AVAILABILITY = "bench.quix.availability"
OUTPUT_ALERTS = "bench.quix.alerts"
OUTPUT_DLQ = "bench.quix.dlq"
KEYED_PARTITIONS = 4  # like our topics (connectors.topics.PARTITIONS)
STATE_DIR = Path(__file__).resolve().parents[2] / ".atp" / "quix" / "state"


def _keyed_topic(app: Application, group: str, key_name: str) -> Any:
    """The topic that re-keys one step's inputs (our events, pickled; keys as strings), 4 partitions."""
    return app.topic(
        f"{group}.by-{key_name}",
        value_serializer=PickleSerializer(),
        value_deserializer=PickleDeserializer(),
        key_serializer="str",
        key_deserializer="str",
        config=TopicConfig(num_partitions=KEYED_PARTITIONS, replication_factor=1),
    )


def build(app: Application, group: str, align: bool = True) -> None:
    """Wire the peer's dataflow onto ``app``.

    Re-keying: every source of a keyed step writes to that step's one topic (``to_topic`` with the
    new key), and the step reads it back (``app.dataframe``). This is what ``group_by`` does, with one
    topic per step instead of one per source: Quix names a ``group_by`` topic, a state store and its
    changelog after every topic upstream, which with our twelve inputs fanning into the SKU step passes
    Kafka's 249-character topic and the file system's 255-character directory limits.
    """
    settings = load_settings()
    rules = rules_from(settings.engine)
    wait_ms = rules.unresolved_wait_ms
    by_upc, by_location, by_listing, by_sku = (
        _keyed_topic(app, group, k) for k in ("upc", "location", "listing", "sku")
    )

    # One decode step over every input: Quix aligns concatenated topics by message timestamp.
    # Without alignment (--no-align), each input topic is its own dataframe with its own decode step.
    inputs = [
        app.dataframe(app.topic(name, value_deserializer="bytes", key_deserializer="bytes")) for name in INPUT_TOPICS
    ]
    heads = [functools.reduce(lambda left, right: left.concat(right), inputs)] if align else inputs
    decoded = [head.apply(steps.decode, expand=True).filter(steps.note_uncovered) for head in heads]
    for events in decoded:
        for route, topic in zip(steps.EVENT_ROUTES, (by_upc, by_location, by_listing, by_sku), strict=True):
            events.filter(steps.routed_by(route)).to_topic(topic, key=steps.key_of(route))

    from_stores = app.dataframe(by_upc).apply(steps.resolve_upc, stateful=True, metadata=True, expand=True)
    to_sku = routing.RESOLVED_TO_SKUS
    from_stores.filter(steps.routed_by(to_sku)).to_topic(by_sku, key=steps.key_of(to_sku))
    located = app.dataframe(by_location).apply(steps.check_location(wait_ms), stateful=True, metadata=True, expand=True)
    to_listing = routing.LOCATED_TO_LISTINGS
    located.filter(steps.routed_by(to_listing)).to_topic(by_listing, key=steps.key_of(to_listing))
    listed = app.dataframe(by_listing).apply(steps.resolve_listing(wait_ms), stateful=True, metadata=True, expand=True)
    listed.filter(steps.routed_by(to_sku)).to_topic(by_sku, key=steps.key_of(to_sku))
    engine = app.dataframe(by_sku).apply(steps.availability(rules), stateful=True, metadata=True, expand=True)

    output_config = TopicConfig(num_partitions=KEYED_PARTITIONS, replication_factor=1)

    def out_topic(name: str) -> Any:
        return app.topic(name, value_serializer=OrjsonSerializer(), key_serializer="str", config=output_config)

    records = engine.filter(lambda v: isinstance(v, AvailabilityRecord)).apply(output_dict)
    records.to_topic(out_topic(OUTPUT_AVAILABILITY), key=lambda d: f"{d['sku']}@{d['location']}")
    alerts = engine.filter(lambda v: isinstance(v, AlertRecord)).apply(output_dict)
    alerts.to_topic(out_topic(OUTPUT_ALERTS), key=lambda d: f"{d['sku']}@{d['location']}")
    dlq = out_topic(OUTPUT_DLQ)
    for sdf in (*decoded, located, listed, engine):
        sdf.filter(steps.is_dead_letter).apply(output_dict).to_topic(dlq, key=lambda d: d["source_topic"])


# -- knowing when it is done -------------------------------------------------------------------


def _high_watermarks(consumer: Consumer, names: list[str]) -> dict[str, int]:
    """Messages each topic holds (low to high, summed over partitions)."""
    held: dict[str, int] = {}
    for name in names:
        metadata = consumer.list_topics(name, timeout=10).topics[name]
        total = 0
        for index in metadata.partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(name, index), timeout=10)
            total += high - low
        held[name] = total
    return held


def _watch(app: Application, bootstrap: str, group: str, done: threading.Event) -> None:
    """Stop ``app`` once it has taken every input and every message of its repartition topics."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{group}-watch"})
    try:
        inputs = _high_watermarks(consumer, list(INPUT_TOPICS))
        prefix = f"{group}.by-"
        settled = 0
        while not done.is_set():
            time.sleep(0.25)
            with steps.PROGRESS.lock:
                taken = dict(steps.PROGRESS.taken)
            if any(taken.get(name, 0) < held for name, held in inputs.items()):
                continue
            internal = [name for name in consumer.list_topics(timeout=10).topics if name.startswith(prefix)]
            held = _high_watermarks(consumer, internal)
            settled = settled + 1 if all(taken.get(name, 0) >= count for name, count in held.items()) else 0
            if settled >= 4:  # four times in a row, 1 s: nothing in flight between a produce and its topic
                done.set()
                app.stop()
    finally:
        consumer.close()


def _stop_after(app: Application, seconds: float, done: threading.Event) -> None:
    """Live mode (the latency run): stop after ``seconds`` whatever is left."""
    done.wait(seconds)
    done.set()
    app.stop()


def run(
    bootstrap: str, group: str, commit_interval: float, run_for_s: float = 0.0, align: bool = True
) -> dict[str, Any]:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_interval=commit_interval,
        state_dir=STATE_DIR,
        rocksdb_options=RocksDBOptions(dumps=pickle_dumps, loads=pickle_loads),
        loglevel=os.environ.get("QUIX_PEER_LOGLEVEL", "WARNING"),
    )
    build(app, group, align)
    done = threading.Event()
    if run_for_s > 0:
        watcher = threading.Thread(target=_stop_after, args=(app, run_for_s, done), daemon=True)
    else:
        watcher = threading.Thread(target=_watch, args=(app, bootstrap, group, done), daemon=True)
    started = time.perf_counter()
    watcher.start()
    app.run()
    stopped = time.perf_counter()
    cpu_end = steps.cpu_seconds()
    done.set()
    progress = steps.PROGRESS
    inputs = sum(progress.taken.get(name, 0) for name in INPUT_TOPICS)
    first, last = progress.first_input_s or started, progress.last_engine_s or stopped
    span = max(last - first, 1e-9)
    return {
        "engine": "quixstreams",
        "quixstreams": importlib.metadata.version("quixstreams"),
        "confluent_kafka": importlib.metadata.version("confluent-kafka"),
        "group": group,
        "aligned_inputs": align,
        "inputs": inputs,
        "first_input_to_last_engine_s": round(span, 3),
        "events_per_s": round(inputs / span, 1),
        "run_s": round(stopped - started, 3),
        "events_per_s_whole_run": round(inputs / max(stopped - started, 1e-9), 1),
        "cpu_s": round(cpu_end, 3),
        "cpu_s_from_first_input": round(cpu_end - (progress.cpu_at_first_input_s or 0.0), 3),
        "events_per_cpu_s": round(inputs / max(cpu_end - (progress.cpu_at_first_input_s or 0.0), 1e-9), 1),
        "taken": dict(progress.taken),
        "not_covered": dict(progress.skipped),
    }


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"quix peer: {message}", file=sys.stderr)
        raise SystemExit(2)


def main(argv: list[str]) -> int:
    parser = _Parser(prog="python -m bench.quix_peer.app", description="The Quix Streams peer of our dataflow.")
    parser.add_argument("--bootstrap", required=True, help="host:port of the Kafka broker holding the inputs")
    parser.add_argument("--group", default="", help="consumer group (default: a fresh one, so it reads from the start)")
    parser.add_argument("--commit-interval", type=float, default=5.0, help="Quix checkpoint interval, s (default 5)")
    parser.add_argument("--no-align", action="store_true", help="one dataframe per input topic (no concat)")
    parser.add_argument("--run-for", type=float, default=0.0, help="live mode: stop after this many seconds")
    args = parser.parse_args(argv)
    if ":" not in args.bootstrap:
        print(f"quix peer: --bootstrap must be host:port, got {args.bootstrap!r}", file=sys.stderr)
        return 2
    if args.commit_interval <= 0:
        print("quix peer: --commit-interval must be above 0", file=sys.stderr)
        return 2
    logging.getLogger("quixstreams").setLevel(logging.WARNING)
    for name, value in QUIX_ENVIRONMENT.items():  # the peer bench's settings, unless the caller set them
        os.environ.setdefault(name, value)
    summary = run(
        args.bootstrap,
        args.group or f"qp-{uuid.uuid4().hex[:8]}",
        args.commit_interval,
        args.run_for,
        not args.no_align,
    )
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
