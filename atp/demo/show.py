"""``atp demo``: the whole pipeline end to end, then live changes you can watch arrive.

Each live change is made in a legacy database as the retailer's own systems
would make it; the demo then waits for the `atp.availability` record it causes
(decoded through the schema registry) and for the ClickHouse row, and prints
the time from the source commit to each.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atp.settings import Settings
from connectors import topics
from connectors.legacy_db import erp_connection, pos_connection
from connectors.output_watch import TopicWatcher

Progress = Callable[[str], None]

WAIT_FOR_RECORD_S = 60.0


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


def _wait_for_initial_load(settings: Settings, progress: Progress) -> int:
    """Wait until the snapshot of the legacy databases has flowed through to the store."""
    from atp.analyst import run_query
    from atp.pipeline import pipeline_log, running_pid

    started, last, steady = time.monotonic(), -1, 0
    while time.monotonic() - started < 600:
        if running_pid(settings.stack) is None:
            raise TimeoutError(f"the pipeline stopped; see {pipeline_log(settings.stack)}")
        # Both the location records and the channel feeds they fan out to must have settled.
        row = run_query(
            settings.store,
            "SELECT (SELECT count() FROM atp.location_availability) AS locations, "
            "(SELECT count() FROM atp.channel_availability) AS channels",
        )[0]
        count, channels = int(row["locations"]), int(row["channels"])
        caught_up = _flow_lag(settings) == 0  # every captured change consumed and its epoch snapshotted
        steady = steady + 1 if count + channels == last and count > 0 and caught_up else 0
        if steady >= 4:
            return count
        if count + channels != last:
            progress(
                f"  initial snapshot: {count} SKU-location and {channels} channel records in ClickHouse "
                f"({time.monotonic() - started:.0f}s)"
            )
        last = count + channels
        time.sleep(1.0)
    raise TimeoutError("the initial snapshot did not reach ClickHouse within 600s")


def _flow_lag(settings: Settings) -> int:
    """Messages on the dataflow's input topics not yet consumed (as of its last snapshot)."""
    from connectors import lag, topics

    positions = lag.flow_positions(settings.dataflow.recovery_dir)
    return sum(t.lag for t in lag.lag_by_topic(settings.kafka, "dataflow", topics.INPUT_TOPICS, positions))


def _pick_dc_item(settings: Settings) -> tuple[str, str]:
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT b.ITEM_NO, TRIM(b.LOC_CD) FROM STOCK_BAL b JOIN ITEM_MASTER i ON i.ITEM_NO = b.ITEM_NO "
            "JOIN LOCATION l ON l.LOC_CD = b.LOC_CD WHERE l.LOC_TYPE = 'D' AND i.ITEM_TYPE = 'S' "
            "AND i.STATUS_FLG = 'A' ORDER BY b.ITEM_NO, b.LOC_CD LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("the demo ERP has no stocked DC item")
    return str(row[0]), str(row[1])


def _pick_store_item(settings: Settings) -> tuple[str, str, str]:
    """(sku, store, upc) of an active stocked item with units on the shelf at a store."""
    with pos_connection(settings.stack) as pos, pos.cursor() as cur:
        cur.execute("SELECT store_id, upc FROM store_stock WHERE on_hand >= 3 ORDER BY store_id, upc LIMIT 200")
        candidates = [(str(s), str(u)) for s, u in cur.fetchall()]
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        for store, upc in candidates:
            cur.execute(
                "SELECT ITEM_NO FROM ITEM_MASTER WHERE UPC = %s AND ITEM_TYPE = 'S' AND STATUS_FLG = 'A'", (upc,)
            )
            row = cur.fetchone()
            if row is not None:
                return str(row[0]), store.strip(), upc
    raise RuntimeError("the demo POS has no store item with stock on hand")


def _pick_listed_dc_item(settings: Settings) -> tuple[str, str, str, str]:
    """(sku, dc, channel, channel_sku) of an active stocked item with units at a DC and a live listing."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT b.ITEM_NO, TRIM(b.LOC_CD), c.CHANNEL_CD, c.CHANNEL_SKU FROM STOCK_BAL b "
            "JOIN ITEM_MASTER i ON i.ITEM_NO = b.ITEM_NO JOIN LOCATION l ON l.LOC_CD = b.LOC_CD "
            "JOIN CHANNEL_LISTING c ON c.ITEM_NO = b.ITEM_NO AND c.ACTIVE_FLG = 'Y' "
            "WHERE l.LOC_TYPE = 'D' AND i.ITEM_TYPE = 'S' AND i.STATUS_FLG = 'A' AND b.QTY_OH - b.QTY_HOLD >= 10 "
            "ORDER BY b.ITEM_NO, b.LOC_CD, c.CHANNEL_CD LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("the demo ERP has no listed DC item with stock")
    return str(row[0]), str(row[1]), str(row[2]), str(row[3])


@dataclass(frozen=True)
class KitScene:
    kit: str
    location: str
    component: str
    per_kit: int
    component_upc: str | None


def _pick_kit(settings: Settings) -> KitScene:
    """A kit that can be promised somewhere, and the component that limits it there."""
    from atp.analyst import run_query

    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT k.KIT_ITEM_NO, k.COMP_ITEM_NO, k.COMP_QTY, c.UPC FROM KIT_COMPONENT k "
            "JOIN ITEM_MASTER c ON c.ITEM_NO = k.COMP_ITEM_NO ORDER BY k.KIT_ITEM_NO"
        )
        bom: dict[str, list[tuple[str, int, str | None]]] = {}
        for kit, part, per_kit, upc in cur.fetchall():
            bom.setdefault(str(kit), []).append((str(part), int(per_kit), str(upc) if upc else None))
    if not bom:
        raise RuntimeError("the demo ERP has no kits")

    def available_at(sku: str) -> dict[str, int]:
        rows = run_query(
            settings.store,
            "SELECT location, available FROM atp.location_availability FINAL WHERE sku = {sku:String}",
            {"sku": sku},
        )
        return {str(r["location"]): int(r["available"]) for r in rows}

    for kit, parts in sorted(bom.items()):
        kit_available = available_at(kit)
        # A DC first: its components are ERP balances, so the scene needs no POS ticket.
        for location in sorted((loc for loc, n in kit_available.items() if n > 0), key=lambda c: (c[:2] != "DC", c)):
            limiting = min(parts, key=lambda c: available_at(c[0]).get(location, 0) // c[1])
            return KitScene(kit, location, limiting[0], limiting[1], limiting[2])
    raise RuntimeError("no demo kit can be promised anywhere")


def _show_change(
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


def run_demo(settings: Settings, progress: Progress, items: int = 2000) -> None:
    from atp import bootstrap, pipeline
    from atp.demo import live
    from atp.demo.generator import DemoSize
    from atp.demo.seed import seed
    from connectors.cdc_connectors import register_cdc
    from infra import stack

    step = 0

    def heading(text: str) -> None:
        nonlocal step
        step += 1
        progress(f"\n[{step}/6] {text}")

    heading("Fetching Kafka, Kafka Connect, Debezium and the schema registry (cached after the first run)")
    stack.install(settings.stack, progress)
    heading("Starting the services")
    bootstrap.bring_up(settings, progress)
    heading("Seeding the demo ERP (MariaDB) and POS (PostgreSQL)")
    seed(settings.stack, DemoSize(items=items), progress)
    heading("Registering change data capture (Debezium)")
    register_cdc(settings.stack, settings.kafka, progress)
    heading("Starting the availability dataflow and the store loader")
    pipeline.start_detached(settings, progress)
    count = _wait_for_initial_load(settings, progress)
    progress(f"  {count} SKU-location records published and loaded")

    heading("Live changes in the legacy databases")
    watcher = TopicWatcher(settings.kafka, topics.AVAILABILITY)
    try:
        dc_sku, dc = _pick_dc_item(settings)
        store_sku, store, upc = _pick_store_item(settings)
        shop_listing = _listing_on(settings, "SHOPIFY", store_sku)
        shop_feed = TopicWatcher(settings.kafka, topics.channel_topic("SHOPIFY"))
        held_sku, held_dc, channel, channel_sku = _pick_listed_dc_item(settings)
        kit = _pick_kit(settings)
        arrivals = [
            _show_change(
                settings,
                progress,
                watcher,
                f"ERP: goods receipt of 24 units of {dc_sku} at {dc}",
                dc_sku,
                dc,
                lambda: _with_erp(settings, lambda c: live.receive_stock(c, dc_sku, dc, 24)),
            ),
            _show_change(
                settings,
                progress,
                watcher,
                f"POS: a customer buys 2 x {store_sku} at {store}",
                store_sku,
                store,
                lambda: _with_pos(settings, lambda c: live.pos_sale(c, store, upc, 2)),
            ),
            _show_change(
                settings,
                progress,
                watcher,
                f"POS: a customer returns 1 x {store_sku} at {store}",
                store_sku,
                store,
                lambda: _with_pos(settings, lambda c: live.pos_return(c, store, upc, 1)),
            ),
        ]
        _show_channel_feed(progress, shop_feed, "SHOPIFY", shop_listing, store_sku)
        arrivals.append(_show_hold_expiring(settings, progress, watcher, held_sku, held_dc, channel, channel_sku))
        arrivals.append(_show_kit_dropping(settings, progress, watcher, kit))
    finally:
        watcher.close()
    latencies = sorted(a.record_latency_ms for a in arrivals)
    progress(
        f"\nCommit -> record latency over {len(latencies)} live changes: min {latencies[0]} ms, max {latencies[-1]} ms"
    )
    progress("\nThe stack and the pipeline keep running. Try:")
    progress(f"  .venv/bin/atp why {store_sku} {store}")
    progress("  .venv/bin/atp status")
    progress("  .venv/bin/atp down")


HOLD_SECONDS = 10


def _listing_on(settings: Settings, channel: str, sku: str) -> str | None:
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT CHANNEL_SKU FROM CHANNEL_LISTING WHERE CHANNEL_CD = %s AND ITEM_NO = %s AND ACTIVE_FLG = 'Y' "
            "ORDER BY CHANNEL_SKU LIMIT 1",
            (channel, sku),
        )
        row = cur.fetchone()
    return None if row is None else str(row[0])


def _show_channel_feed(progress: Progress, feed: TopicWatcher, channel: str, channel_sku: str | None, sku: str) -> None:
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


def _show_hold_expiring(
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
        sent, expires = live.hold_in_cart(settings.kafka.bootstrap_servers, channel, channel_sku, dc, 3, HOLD_SECONDS)
        deadline.append(expires)
        return sent

    arrival = _show_change(
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


def _show_kit_dropping(settings: Settings, progress: Progress, watcher: TopicWatcher, kit: KitScene) -> Arrival:
    """A component sells, and the kit it limits drops with it."""
    from atp.demo import live

    def sell_component() -> int:
        if kit.location.startswith("ST") and kit.component_upc is not None:
            return _with_pos(settings, lambda c: live.pos_sale(c, kit.location, kit.component_upc or "", kit.per_kit))
        return _with_erp(settings, lambda c: live.ship_from_dc(c, kit.component, kit.location, kit.per_kit))

    return _show_change(
        settings,
        progress,
        watcher,
        f"Kit {kit.kit} at {kit.location}: {kit.per_kit} x its component {kit.component} sell",
        kit.kit,
        kit.location,
        sell_component,
    )


def _with_erp(settings: Settings, change: Callable[[Any], int]) -> int:
    connection = erp_connection(settings.stack)
    try:
        return change(connection)
    finally:
        connection.close()


def _with_pos(settings: Settings, change: Callable[[Any], int]) -> int:
    connection = pos_connection(settings.stack)
    try:
        return change(connection)
    finally:
        connection.close()
