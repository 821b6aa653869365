"""``atp demo``'s live changes, each printed as it goes: before, the change, the record it causes, the latencies.

Each change is made in a legacy database as the retailer's own systems would
make it; the scene then waits for the `atp.availability` record it causes
(decoded through the schema registry) and for the ClickHouse row, and prints
the time from the source commit to each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atp.demo.picks import KitScene
from atp.settings import Settings
from connectors.legacy_db import erp_connection, pos_connection
from connectors.output_watch import TopicWatcher

Progress = Callable[[str], None]

WAIT_FOR_RECORD_S = 60.0
HOLD_SECONDS = 10


@dataclass(frozen=True)
class Arrival:
    record: dict[str, Any]
    record_latency_ms: int
    store_latency_ms: int | None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _latest(settings: Settings, sku: str, location: str) -> dict[str, Any] | None:
    from atp.analyst import run_query

    rows = run_query(
        settings.store,
        "SELECT version, on_hand, available, status FROM atp.location_availability FINAL "
        "WHERE sku = {sku:String} AND location = {location:String}",
        {"sku": sku, "location": location},
    )
    return rows[0] if rows else None


def _wait_for_store_row(settings: Settings, sku: str, location: str, version: int, since_ms: int) -> int | None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        row = _latest(settings, sku, location)
        if row is not None and int(row["version"]) >= version:
            return _now_ms() - since_ms
        time.sleep(0.05)
    return None


def show_change(
    settings: Settings,
    progress: Progress,
    watcher: TopicWatcher,
    title: str,
    sku: str,
    location: str,
    make_change: Callable[[], int],
) -> Arrival:
    before = _latest(settings, sku, location)
    before_version = int(before["version"]) if before else 0
    progress(f"\n▶ {title}")
    if before:
        progress(
            f"  before: {sku}@{location} on_hand={before['on_hand']} available={before['available']} "
            f"status={before['status']} (v{before_version})"
        )
    commit_ms = make_change()
    key = f"{sku}@{location}"
    record, arrived_ms = watcher.wait_for(lambda k, r: k == key and r["version"] > before_version, WAIT_FOR_RECORD_S)
    store_ms = _wait_for_store_row(settings, sku, location, int(record["version"]), commit_ms)
    arrival = Arrival(record, arrived_ms - commit_ms, store_ms)
    progress(
        f"  after:  {sku}@{location} on_hand={record['on_hand']} available={record['available']} "
        f"status={record['status']} (v{record['version']}, cause={record['cause']})"
    )
    progress(f"  source commit -> atp.availability record: {arrival.record_latency_ms} ms")
    progress(
        "  source commit -> ClickHouse row:          "
        + (f"{store_ms} ms" if store_ms is not None else "not seen within 30s")
    )
    return arrival


def show_channel_feed(progress: Progress, feed: TopicWatcher, channel: str, channel_sku: str | None, sku: str) -> None:
    """What the sale and the return did to one channel's feed (its own SKU, summed over what it ships from)."""
    progress(f"\n▶ The {channel} feed (atp.channel.{channel.lower()}) meanwhile")
    try:
        if channel_sku is None:
            progress(f"  {sku} is not listed on {channel}")
            return
        moves = [r for k, r in feed.drain(quiet_s=2.0) if k == channel_sku]
        for record in moves:
            progress(
                f"  {channel_sku} ({sku}): available={record['available']} status={record['status']} "
                f"promise_date={record['promise_date']} (v{record['version']})"
            )
        if not moves:
            progress(f"  {channel_sku} did not move: the store does not ship {channel} orders")
    finally:
        feed.close()


def show_hold_expiring(
    settings: Settings,
    progress: Progress,
    watcher: TopicWatcher,
    sku: str,
    dc: str,
    channel: str,
    channel_sku: str,
) -> Arrival:
    """A cart hold reserves units, then lapses at its deadline with no further input."""
    from atp.demo import live

    deadline: list[int] = []

    def hold() -> int:
        sent, expires = live.hold_in_cart(settings.kafka, channel, channel_sku, dc, 3, HOLD_SECONDS)
        deadline.append(expires)
        return sent

    arrival = show_change(
        settings,
        progress,
        watcher,
        f"{channel}: a shopper puts 3 x {channel_sku} ({sku}) in a cart, held at {dc} for {HOLD_SECONDS}s",
        sku,
        dc,
        hold,
    )
    progress(f"  reserved={arrival.record['reserved']}: nothing else happens; waiting for the hold to lapse ...")
    key = f"{sku}@{dc}"
    released, arrived_ms = watcher.wait_for(
        lambda k, r: k == key and r["cause"] == "expiry", HOLD_SECONDS + WAIT_FOR_RECORD_S
    )
    progress(
        f"  lapsed: {key} reserved={released['reserved']} available={released['available']} "
        f"(v{released['version']}, cause=expiry, {arrived_ms - deadline[0]} ms after the deadline)"
    )
    return arrival


def show_kit_dropping(settings: Settings, progress: Progress, watcher: TopicWatcher, kit: KitScene) -> Arrival:
    """A component sells, and the kit it limits drops with it."""
    from atp.demo import live

    def sell_component() -> int:
        if kit.location.startswith("ST") and kit.component_upc is not None:
            return with_pos(settings, lambda c: live.pos_sale(c, kit.location, kit.component_upc or "", kit.per_kit))
        return with_erp(settings, lambda c: live.ship_from_dc(c, kit.component, kit.location, kit.per_kit))

    return show_change(
        settings,
        progress,
        watcher,
        f"Kit {kit.kit} at {kit.location}: {kit.per_kit} x its component {kit.component} sell",
        kit.kit,
        kit.location,
        sell_component,
    )


def with_erp(settings: Settings, change: Callable[[Any], int]) -> int:
    """Make ``change`` on a connection of its own to the ERP; returns its commit time (ms)."""
    connection = erp_connection(settings.stack)
    try:
        return change(connection)
    finally:
        connection.close()


def with_pos(settings: Settings, change: Callable[[Any], int]) -> int:
    """Make ``change`` on a connection of its own to the POS; returns its commit time (ms)."""
    connection = pos_connection(settings.stack)
    try:
        return change(connection)
    finally:
        connection.close()
