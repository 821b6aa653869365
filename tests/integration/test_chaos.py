"""Chaos on the real stack: while a generator drives a steady stream of ERP stock, POS store stock and
reservation changes, each fault is injected in turn; afterwards the published availability of every
SKU and location equals what the systems of record and the reservation log say (``atp reconcile`` is
the oracle), no key's version went backwards, and no generated input was dead-lettered.

Faults: the dataflow SIGKILLed (three times in a row), Kafka Connect restarted, the Kafka broker
restarted, PostgreSQL restarted, MariaDB restarted, ClickHouse writes refused (the store's table
detached) for 10 s, and a Debezium re-snapshot of every POS table (a backfill), which must converge to
the same state as live streaming. The time to recover from each is measured: from the end of the fault until a
fresh change made at the source is visible where it must be (the topic, or for ClickHouse the
store). The figures go to ``ATP_HOME/chaos-report.md``.

Short profile (CI): every fault once. Long profile: ``ATP_CHAOS_ROUNDS=5 make test``.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from atp import analyst
from atp.pipeline import flow_pid_file
from atp.reconcile import reconcile
from atp.settings import Settings
from connectors import topics
from connectors.kafka_config import client_config
from connectors.legacy_db import pos_connection
from connectors.output_watch import TopicWatcher
from infra.stack import service_objects
from tests.integration.accounting import wait_until_every_input_is_accounted
from tests.integration.legacy_writes import (
    DC,
    a_store,
    list_on_channel,
    new_item,
    put_on_shelf,
    reservation_event,
    set_dc_stock,
)

pytestmark = pytest.mark.integration

ROUNDS = int(os.environ.get("ATP_CHAOS_ROUNDS", "1"))
ITEMS = 6
CHANGES_PER_S = 15


class Generator(threading.Thread):
    """A steady stream of source changes; a write that fails while a service is down is retried later."""

    def __init__(self, settings: Settings, items: list[tuple[str, str, str]], store: str) -> None:
        super().__init__(name="chaos-generator", daemon=True)
        self.settings, self.items, self.store = settings, items, store
        self.stop = threading.Event()
        self.rng = random.Random(2026)
        self.applied = self.refused = 0
        self.open_holds: list[tuple[str, str, int]] = []
        self.producer = Producer(client_config(settings.kafka) | {"enable.idempotence": True})

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.change()
                self.applied += 1
            except Exception:  # noqa: BLE001 - a source that is down refuses; the stream goes on
                self.refused += 1
            self.producer.poll(0)
            self.stop.wait(1 / CHANGES_PER_S)

    def change(self) -> None:
        sku, upc, channel_sku = self.rng.choice(self.items)
        kind = self.rng.random()
        if kind < 0.35:
            set_dc_stock(self.settings, sku, self.rng.randint(20, 400), self.rng.randint(0, 3))
        elif kind < 0.6:
            with pos_connection(self.settings.stack) as pos, pos.cursor() as cur:
                cur.execute(
                    "UPDATE store_stock SET on_hand = %s, updated_at = localtimestamp WHERE store_id = %s AND upc = %s",
                    (self.rng.randint(0, 60), self.store, upc),
                )
                pos.commit()
        elif kind < 0.85 or not self.open_holds:
            rid = f"chaos-{uuid.uuid4().hex[:8]}"
            qty = self.rng.randint(1, 3)
            self.send(reservation_event("HOLD", rid, channel_sku, qty))
            self.open_holds.append((rid, channel_sku, qty))
        else:
            rid, channel_sku, qty = self.open_holds.pop(self.rng.randrange(len(self.open_holds)))
            self.send(reservation_event(self.rng.choice(["RELEASE", "CONFIRM"]), rid, channel_sku, qty))

    def send(self, event: tuple[bytes, bytes]) -> None:
        key, value = event
        self.producer.produce(topics.RESERVATIONS, key=key, value=value)

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        assert self.producer.flush(60) == 0, "reservations were not acknowledged by Kafka"


def restart(settings: Settings, name: str) -> Callable[[], None]:
    def fault() -> None:
        [service] = service_objects(settings.stack, settings.kafka, [name])
        service.stop()
        time.sleep(2)
        service.start(lambda _line: None)

    return fault


def kill_dataflow_repeatedly(settings: Settings) -> None:
    for _ in range(3):
        pid_file = flow_pid_file(settings.stack)
        old = pid_file.read_text()
        os.kill(int(old), signal.SIGKILL)
        deadline = time.monotonic() + 60
        while pid_file.read_text() == old and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)


def resnapshot_the_pos(settings: Settings) -> None:
    """Debezium re-reads every POS table (a backfill): every row again, as snapshot reads, then streaming."""
    from connectors.cdc_connectors import POS_CONNECTOR, connect_client, pos_config

    client = connect_client(settings.stack)
    client.put_config(POS_CONNECTOR, pos_config(settings.stack, settings.kafka) | {"snapshot.mode": "always"})
    client.wait_running(POS_CONNECTOR)
    time.sleep(5)  # the snapshot of a demo POS takes about a second
    client.put_config(POS_CONNECTOR, pos_config(settings.stack, settings.kafka))
    client.wait_running(POS_CONNECTOR)


def pause_store_writes(settings: Settings) -> None:
    store_command(settings, "DETACH TABLE atp.location_availability")
    time.sleep(10)
    store_command(settings, "ATTACH TABLE atp.location_availability")


def store_command(settings: Settings, sql: str) -> None:
    from connectors.clickhouse_store import open_store_for_reading

    store = open_store_for_reading(settings.store)
    try:
        store.command(sql)
    finally:
        store.close()


def stored_on_hand(settings: Settings, sku: str, location: str) -> int | None:
    rows = analyst.run_query(
        settings.store,
        "SELECT on_hand FROM atp.location_availability FINAL WHERE sku = {sku:String} AND location = {loc:String}",
        {"sku": sku, "loc": location},
    )
    return int(rows[0]["on_hand"]) if rows else None


def time_to_recover(settings: Settings, watcher: TopicWatcher, marker: str, upc: str, store: str, n: int) -> float:
    """From now until a fresh ERP change and a fresh POS change are both on the topic and in the store."""
    started = time.monotonic()
    erp_units, pos_units = 1000 + n, 500 + n
    deadline = started + 240
    while True:  # a source that is still coming back refuses writes for a moment
        try:
            set_dc_stock(settings, marker, erp_units)
            with pos_connection(settings.stack) as pos, pos.cursor() as cur:
                cur.execute(
                    "UPDATE store_stock SET on_hand = %s, updated_at = localtimestamp WHERE store_id = %s AND upc = %s",
                    (pos_units, store, upc),
                )
                pos.commit()
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    awaited = {f"{marker}@{DC}": erp_units, f"{marker}@{store}": pos_units}

    def both_arrived(key: str, record: dict[str, object]) -> bool:  # in whichever order the partitions give them
        if awaited.get(key) == record["on_hand"]:
            del awaited[key]
        return not awaited

    watcher.wait_for(both_arrived, timeout_s=240)
    while stored_on_hand(settings, marker, DC) != erp_units or stored_on_hand(settings, marker, store) != pos_units:
        assert time.monotonic() < deadline, "the store did not catch up within 240 s"
        time.sleep(0.2)
    return time.monotonic() - started


def test_after_every_fault_the_pipeline_recovers_and_ends_where_the_sources_say(
    pipeline: Settings, availability: TopicWatcher
):
    store = a_store(pipeline)
    items = []
    for _ in range(ITEMS + 1):
        sku, upc = new_item(pipeline)
        channel_sku = list_on_channel(pipeline, sku)
        set_dc_stock(pipeline, sku, 100)
        put_on_shelf(pipeline, store, upc, 20)
        items.append((sku, upc, channel_sku))
    marker, marker_upc, _ = items.pop()
    stocked = {f"{sku}@{DC}" for sku, _, _ in items}

    def all_stocked(key: str, record: dict[str, object]) -> bool:
        if record["on_hand"] == 100:
            stocked.discard(key)
        return not stocked

    availability.wait_for(all_stocked, timeout_s=90)
    faults: list[tuple[str, Callable[[], None]]] = [
        ("dataflow SIGKILLed 3 times", lambda: kill_dataflow_repeatedly(pipeline)),
        ("Kafka Connect restarted", restart(pipeline, "connect")),
        ("Kafka broker restarted", restart(pipeline, "kafka")),
        ("PostgreSQL restarted", restart(pipeline, "postgres")),
        ("MariaDB restarted", restart(pipeline, "mariadb")),
        ("ClickHouse writes refused for 10 s", lambda: pause_store_writes(pipeline)),
        ("POS re-snapshot by Debezium (a backfill)", lambda: resnapshot_the_pos(pipeline)),
    ]

    generator = Generator(pipeline, items, store)
    generator.start()
    report = []
    try:
        for round_no in range(ROUNDS):
            for n, (name, fault) in enumerate(faults):
                time.sleep(3)  # the stream flows between faults
                began = time.monotonic()
                fault()
                lasted = time.monotonic() - began
                recovered = time_to_recover(pipeline, availability, marker, marker_upc, store, round_no * 10 + n)
                report.append((name, lasted, recovered))
    finally:
        generator.finish()

    # Everything recovered: the published state equals the systems of record and the reservation log.
    deadline = time.monotonic() + 120
    while True:
        found = reconcile(pipeline, repair=False, settle_s=3)
        if not found.drifts or time.monotonic() > deadline:
            break
    assert found.drifts == [], f"drift after the faults: {found.drifts[:5]}"

    # A restart re-sends records from its last snapshot, so a version may repeat (README, Restarts); versions
    # never go backwards past that, and the last record of every key is its highest version.
    seen = availability.drain(quiet_s=3.0)
    ours = {f"{sku}@{location}" for sku, _, _ in items for location in (DC, store)}
    versions: dict[str, list[int]] = {}
    for key, record in seen:  # topic order per key (a key lives on one partition)
        if key in ours:
            versions.setdefault(key, []).append(record["version"])
    for key, sent in versions.items():
        assert sent[-1] == max(sent), f"{key}: the last version published is not the highest"
        assert sorted(set(sent)) == list(range(min(sent), max(sent) + 1)), f"{key}: a version is missing"
    letters = analyst.run_query(
        pipeline.store, "SELECT count() AS n FROM atp.dlq WHERE position(payload, 'chaos-') > 0"
    )
    assert int(letters[0]["n"]) == 0, "a generated input was dead-lettered"
    # Through every kill and restart, each input offset was counted once: inputs = used + dead-lettered.
    accounted = wait_until_every_input_is_accounted(pipeline)
    inputs, used, dead = (sum(row[i] for row in accounted.values()) for i in range(3))
    consumer_errors = analyst.run_query(
        pipeline.store, "SELECT count() AS n FROM atp.dlq WHERE reason = 'consumer_error'"
    )

    lines = [
        f"# Chaos report ({ROUNDS} round(s), {generator.applied} changes applied, "
        f"{generator.refused} refused while a source was down, "
        f"{consumer_errors[0]['n']} consumer errors dead-lettered; inputs on the dataflow's topics {inputs} = "
        f"used {used} + dead-lettered {dead})",
        "",
        "| fault | fault lasted (s) | time to recover (s) | final state equals the oracle |",
        "|---|---|---|---|",
        *(f"| {name} | {lasted:.1f} | {recovered:.1f} | yes |" for name, lasted, recovered in report),
    ]
    (pipeline.stack.home / "chaos-report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
