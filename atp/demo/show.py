"""``atp demo``: the whole pipeline end to end, then live changes you can watch arrive.

The stages are here: install, start, seed, capture, run, wait for the initial
snapshot to reach the store. Then the live changes: rows chosen by
:mod:`atp.demo.picks`, each change shown by :mod:`atp.demo.scenes`.
"""

from __future__ import annotations

import time

from atp.demo.picks import listing_on, pick_dc_item, pick_kit, pick_listed_dc_item, pick_store_item
from atp.demo.scenes import (
    Progress,
    show_change,
    show_channel_feed,
    show_hold_expiring,
    show_kit_dropping,
    with_erp,
    with_pos,
)
from atp.settings import Settings
from connectors import topics
from connectors.output_watch import TopicWatcher


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
        dc_sku, dc = pick_dc_item(settings)
        store_sku, store, upc = pick_store_item(settings)
        shop_listing = listing_on(settings, "SHOPIFY", store_sku)
        shop_feed = TopicWatcher(settings.kafka, topics.channel_topic("SHOPIFY"))
        held_sku, held_dc, channel, channel_sku = pick_listed_dc_item(settings)
        kit = pick_kit(settings)
        arrivals = [
            show_change(
                settings,
                progress,
                watcher,
                f"ERP: goods receipt of 24 units of {dc_sku} at {dc}",
                dc_sku,
                dc,
                lambda: with_erp(settings, lambda c: live.receive_stock(c, dc_sku, dc, 24)),
            ),
            show_change(
                settings,
                progress,
                watcher,
                f"POS: a customer buys 2 x {store_sku} at {store}",
                store_sku,
                store,
                lambda: with_pos(settings, lambda c: live.pos_sale(c, store, upc, 2)),
            ),
            show_change(
                settings,
                progress,
                watcher,
                f"POS: a customer returns 1 x {store_sku} at {store}",
                store_sku,
                store,
                lambda: with_pos(settings, lambda c: live.pos_return(c, store, upc, 1)),
            ),
        ]
        show_channel_feed(progress, shop_feed, "SHOPIFY", shop_listing, store_sku)
        arrivals.append(show_hold_expiring(settings, progress, watcher, held_sku, held_dc, channel, channel_sku))
        arrivals.append(show_kit_dropping(settings, progress, watcher, kit))
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
