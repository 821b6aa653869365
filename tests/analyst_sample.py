"""A small, realistic store for the analyst notebooks: one morning of a T-shirt and a mug.

What is in it, and what the notebooks should find (the unit tests pin these):

- TEE-1001-BLK-M at ST0001 (the busiest key, holds and commitments): two oversell-risk windows,
  120 s (a web hold takes the last 8 units, then half of it lapses) and 240 s (a click-and-collect
  commitment takes the rest, until a goods receipt).
- TEE-1001-BLK-M at DC01: plain stock moves, never at risk.
- MUG-2002-WHT at ST0002: sold out with no hold (not a risk), then a hold on the last units that is
  still open at the end: one open window.
- Channel records for four channels, each 60-900 ms after the record behind it.
- Nine dead letters: three reasons, three source topics, over three minutes.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from typing import Any

from atp.domain.rules import available_units
from connectors.clickhouse_store import ChdbStore, Store, apply_ddl

START_MS = 1_795_341_600_000  # 2026-11-22 10:00:00 UTC

# (seconds after START, cause, on_hand, reserved, committed, safety_stock) per key, in version order
TEE_STORE = [
    (0, "stock", 10, 0, 0, 0),
    (60, "reservation", 10, 3, 0, 0),
    (120, "sale", 8, 3, 0, 0),
    (180, "reservation", 8, 8, 0, 0),  # risk opens
    (240, "sale", 8, 8, 0, 0),  # a re-count, still at risk
    (300, "expiry", 8, 5, 0, 0),  # closes: 120 s
    (360, "reservation", 8, 5, 3, 0),  # opens
    (600, "stock", 20, 5, 3, 0),  # closes: 240 s
    (660, "sale", 19, 5, 3, 0),
    (720, "safety stock", 19, 5, 3, 2),
]
TEE_DC = [
    (30, "stock", 120, 0, 0, 10),
    (330, "stock", 96, 0, 0, 10),
    (630, "stock", 140, 0, 0, 10),
]
MUG_STORE = [
    (90, "stock", 4, 0, 0, 0),
    (150, "sale", 0, 0, 0, 0),  # sold out, nothing held: not a risk
    (420, "stock", 2, 0, 0, 0),
    (700, "reservation", 2, 2, 0, 0),  # opens, still open at the end
]
HISTORY = {
    ("TEE-1001-BLK-M", "ST0001"): TEE_STORE,
    ("TEE-1001-BLK-M", "DC01"): TEE_DC,
    ("MUG-2002-WHT", "ST0002"): MUG_STORE,
}
LAST_SOURCE_MS = START_MS + 720_000
EXPECTED_WINDOWS = [  # (sku, location, start s, end s or None, duration ms), longest first
    ("TEE-1001-BLK-M", "ST0001", 360, 600, 240_000),
    ("TEE-1001-BLK-M", "ST0001", 180, 300, 120_000),
    ("MUG-2002-WHT", "ST0002", 700, None, 20_000),
]

DEAD_LETTERS = [  # (seconds after START, topic, reason)
    (15, "erp.erp.STOCK", "decode_error"),
    (20, "erp.erp.STOCK", "decode_error"),
    (45, "orders.reservations", "hold_without_expiry"),
    (70, "pos.public.store_stock", "unknown_sku"),
    (75, "pos.public.store_stock", "unknown_sku"),
    (80, "pos.public.store_stock", "unknown_sku"),
    (130, "orders.reservations", "hold_without_expiry"),
    (140, "erp.erp.STOCK", "unknown_sku"),
    (150, "orders.reservations", "decode_error"),
]


def clickhouse_time(epoch_ms: int) -> str:
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def status_of(available: int) -> str:
    return "OUT_OF_STOCK" if available == 0 else "LOW_STOCK" if available <= 5 else "IN_STOCK"


def availability_rows() -> list[dict[str, Any]]:
    rows = []
    for (sku, location), changes in HISTORY.items():
        for version, (at_s, cause, on_hand, reserved, committed, safety_stock) in enumerate(changes, start=1):
            source_ms = START_MS + at_s * 1000
            computed_ms = source_ms + 40 + (version * 37 + len(location) * 71) % 400  # 40-440 ms to publish
            available = available_units(on_hand, 0, reserved, committed, safety_stock)
            rows.append({
                "sku": sku, "location": location, "on_hand": on_hand, "unsellable": 0, "reserved": reserved,
                "committed": committed, "safety_stock": safety_stock, "available": available, "incoming": 0,
                "next_inbound_date": None, "status": status_of(available), "version": version,
                "source_ts_ms": clickhouse_time(source_ms), "computed_ts_ms": clickhouse_time(computed_ms),
                "cause": cause, "cause_ref": f"{'binlog' if location == 'DC01' else 'lsn'}={at_s}",
                "loaded_at": clickhouse_time(computed_ms + 150 + (version * 91) % 700),  # the loader's batches
            })  # fmt: skip
    return rows


def channel_rows(availability: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A listing per channel for each SKU, re-published 120-300 ms after each record of that SKU."""
    rows = []
    for channel, delay_ms in (("SHOPIFY", 120), ("AMAZON", 300), ("EBAY", 900), ("ZALANDO", 60)):
        for sku in ("TEE-1001-BLK-M", "MUG-2002-WHT"):
            mine = sorted((r for r in availability if r["sku"] == sku), key=lambda r: r["source_ts_ms"])
            for version, record in enumerate(mine, start=1):
                computed = dt.datetime.fromisoformat(record["computed_ts_ms"] + "+00:00")
                at_ms = int(computed.timestamp() * 1000) + delay_ms
                rows.append({
                    "channel": channel, "channel_sku": f"{channel[:2]}-{sku}", "sku": sku,
                    "available": record["available"], "status": record["status"], "promise_date": None,
                    "version": version, "computed_ts_ms": clickhouse_time(at_ms), "buffer": 0,
                })  # fmt: skip
    return rows


def dead_letter_rows() -> list[dict[str, Any]]:
    return [
        {
            "source_topic": topic,
            "partition": 0,
            "offset": offset,
            "reason": reason,
            "error": f"{reason} at offset {offset}",
            "payload": "{}",
            "at_ms": clickhouse_time(START_MS + at_s * 1000),
        }  # fmt: skip
        for offset, (at_s, topic, reason) in enumerate(DEAD_LETTERS)
    ]


def fill(store: Store) -> None:
    """The project's DDL, then the morning above."""
    apply_ddl(store)
    history = availability_rows()
    store.insert_rows("atp.availability_history", history)
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for row in history:
        latest[(row["sku"], row["location"])] = row
    store.insert_rows("atp.location_availability", list(latest.values()))
    store.insert_rows("atp.channel_availability", channel_rows(history))
    store.insert_rows("atp.dlq", dead_letter_rows())


def draw_docs_chart(target: Path) -> None:
    """The README's chart: availability over time of the sample's busiest key, risk shaded."""
    from atp import analyst_plots, analyst_reports

    with tempfile.TemporaryDirectory() as home:
        store = ChdbStore(Path(home) / "chdb")
        try:
            fill(store)
            sku, location = analyst_reports.busiest_key(store) or ("", "")
            history = analyst_reports.availability_history(store, sku, location)
            windows = analyst_reports.risk_windows(sku, location, history, analyst_reports.latest_source_ms(store))
        finally:
            store.close()
    analyst_plots.availability_chart(sku, location, history, windows).save(str(target))


if __name__ == "__main__":  # python -m tests.analyst_sample docs/availability-over-time.png
    draw_docs_chart(Path(sys.argv[1]))
