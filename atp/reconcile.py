"""``atp reconcile``: compare what the pipeline published with a fresh read of the systems of record,
record every drift in the store, and (with ``--repair``) send the dataflow a correction for each.

A run reads the pipeline's latest records first and the sources second: the pipeline only
ever learns committed changes, so whatever it shows was already true at the source when the
source is read, and a difference is either lag or drift. To tell them apart, a candidate
drift is read again after ``settle_s`` and counts only if both sides still say the same.

A repair is an input of the dataflow (``atp.reconcile``), never a write to an output topic:
the dataflow stays the only writer of availability, applies the repair only if the location
has published nothing since the drift was found, and publishes the result with
``cause = reconcile``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import KafkaError, Message, Producer

from atp.domain.events import DC
from atp.domain.reconcile import (
    REPAIRABLE,
    Drift,
    Expected,
    Figures,
    Key,
    PublishedFigures,
    SourceRead,
    comparable_skus,
    expected_figures,
    find_drifts,
)
from atp.errors import AtpError
from atp.settings import KafkaSettings, Settings
from connectors import topics
from connectors.clickhouse_store import Store, open_store_for_reading
from connectors.kafka_config import client_config
from connectors.repairs import RepairLot, RepairMessage, encode_repair
from connectors.systems_of_record import read_systems_of_record

Clock = Callable[[], int]

PIPELINE_SQL = (
    "SELECT sku, location, on_hand, unsellable, reserved, committed, safety_stock, available, version, "
    "toUnixTimestamp64Milli(source_ts_ms) AS source_ts_ms FROM atp.location_availability FINAL"
)


@dataclass(frozen=True)
class ReconcileReport:
    run_id: str
    keys_checked: int
    drifts: list[Drift]
    repairs_sent: int

    def summary(self) -> str:
        if not self.drifts:
            return f"reconcile {self.run_id}: {self.keys_checked} SKU-locations checked, no drift"
        by_field: dict[str, int] = defaultdict(int)
        for drift in self.drifts:
            by_field[drift.field] += 1
        keys = len({(d.sku, d.location) for d in self.drifts})
        fields = ", ".join(f"{name} {count}" for name, count in sorted(by_field.items()))
        return (
            f"reconcile {self.run_id}: {self.keys_checked} SKU-locations checked, {len(self.drifts)} drift(s) "
            f"on {keys} SKU-location(s) ({fields}); {self.repairs_sent} repair(s) sent"
        )


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def reconcile(settings: Settings, repair: bool, settle_s: float = 5.0, clock: Clock = wall_clock_ms) -> ReconcileReport:
    from atp.rule_settings import rules_from

    rules = rules_from(settings.engine)
    run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    started = clock()
    store = open_store_for_reading(settings.store)
    try:
        published = _published(store)
        read = read_systems_of_record(settings.stack, settings.kafka, settings.engine)
        expected = expected_figures(read, clock(), rules)
        drifts = find_drifts(published, expected, comparable_skus(read))
        if drifts and settle_s > 0:  # lag, or drift? Read both sides again; drift is what stays.
            time.sleep(settle_s)
            published = _published(store)
            read = read_systems_of_record(settings.stack, settings.kafka, settings.engine)
            expected = expected_figures(read, clock(), rules)
            again = find_drifts(published, expected, comparable_skus(read))
            seen = {_identity(d) for d in drifts}
            drifts = [d for d in again if _identity(d) in seen]
        repaired = _send_repairs(settings.kafka, run_id, drifts, expected, read) if repair else set()
        checked = len({*published, *expected})
        _record(store, run_id, started, clock(), checked, drifts, repaired, repair)
    finally:
        store.close()
    return ReconcileReport(run_id, checked, drifts, len(repaired))


def _identity(drift: Drift) -> tuple[str, str, str, int, int]:
    return (drift.sku, drift.location, drift.field, drift.pipeline_value, drift.source_value)


def _published(store: Store) -> dict[Key, PublishedFigures]:
    published = {}
    for row in store.query(PIPELINE_SQL):
        figures = Figures(
            int(row["on_hand"]),
            int(row["unsellable"]),
            int(row["reserved"]),
            int(row["committed"]),
            int(row["safety_stock"]),
            int(row["available"]),
        )
        published[(str(row["sku"]), str(row["location"]))] = PublishedFigures(
            figures, int(row["version"]), int(row["source_ts_ms"])
        )
    return published


def _send_repairs(
    kafka: KafkaSettings, run_id: str, drifts: list[Drift], expected: dict[Key, Expected], read: SourceRead
) -> set[Key]:
    """One repair per SKU-location with a drift in a field the ERP or POS holds."""
    fields: dict[Key, list[str]] = defaultdict(list)
    versions: dict[Key, int] = {}
    for drift in drifts:
        if drift.field in REPAIRABLE:
            fields[(drift.sku, drift.location)].append(drift.field)
            versions[(drift.sku, drift.location)] = drift.pipeline_version
    if not fields:
        return set()
    producer = Producer(client_config(kafka) | {"enable.idempotence": True})
    failures: list[str] = []
    for (sku, location), names in sorted(fields.items()):
        source = expected.get((sku, location))
        row = source.stock if source else None
        message = RepairMessage(
            run_id=run_id,
            sku=sku,
            location=location,
            # A row that vanished (deleted, truncated) is a level of zero at a location of the type LOCATION says.
            location_type="D" if (row.location_type if row else read.location_types.get(location)) == DC else "S",
            on_hand=row.on_hand if row else 0,
            quality_hold=row.quality_hold if row else 0,
            lots=[RepairLot(lot=lot.lot, qty=lot.qty, expiry_day=lot.expiry_day) for lot in (row.lots if row else ())],
            observed_version=versions[(sku, location)],
            read_at_ms=wall_clock_ms(),
            fields=names,
        )
        key, value = encode_repair(message)
        producer.produce(topics.RECONCILE, key=key, value=value, on_delivery=_collect_failures(failures))
    if producer.flush(30) or failures:
        raise AtpError(f"reconcile: repairs not acknowledged by Kafka: {failures[:1] or 'timeout'}")
    return set(fields)


def _collect_failures(failures: list[str]) -> Callable[[KafkaError | None, Message], None]:
    def delivered(error: KafkaError | None, _message: Message) -> None:
        if error is not None:
            failures.append(str(error))

    return delivered


def _ts(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _record(
    store: Store,
    run_id: str,
    started_ms: int,
    finished_ms: int,
    checked: int,
    drifts: list[Drift],
    repaired: set[Key],
    repair: bool,
) -> None:
    rows = [
        {
            "run_id": run_id,
            "checked_at": _ts(finished_ms),
            "sku": d.sku,
            "location": d.location,
            "field": d.field,
            "pipeline_value": d.pipeline_value,
            "source_value": d.source_value,
            "since": _ts(d.since_ms),
            "pipeline_version": d.pipeline_version,
            "repair_sent": int((d.sku, d.location) in repaired and d.field in REPAIRABLE),
        }
        for d in drifts
    ]
    if rows:
        store.insert_rows("atp.reconcile_drift", rows)
    store.insert_rows(
        "atp.reconcile_runs",
        [
            {
                "run_id": run_id,
                "started_at": _ts(started_ms),
                "finished_at": _ts(finished_ms),
                "keys_checked": checked,
                "drifts": len(drifts),
                "repairs_sent": len(repaired),
                "repair": int(repair),
            }
        ],
    )
