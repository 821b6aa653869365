"""The engine's rules on the real stack: channel reservations on Kafka, ERP changes through Debezium.

- a HOLD with a short expiry is released at its deadline with no further input;
- a FULFILL followed later by the ERP decrement never shows a higher availability in between;
- SIGKILLing the dataflow at random points of a stream of thousands of inputs ends in exactly the
  state an uninterrupted run reaches, every version reaches the store, and no key's version regresses.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import time
import uuid

import pytest

from atp import analyst
from atp.pipeline import flow_pid_file
from atp.settings import Settings
from connectors import topics
from connectors.output_watch import Record, TopicWatcher
from tests.integration.legacy_writes import (
    DC,
    list_on_channel,
    new_item,
    reservation_event,
    send_reservations,
    set_dc_stock,
)
from tests.integration.outputs import next_record

pytestmark = pytest.mark.integration


def a_listed_item_with_stock(settings: Settings, watcher: TopicWatcher, on_hand: int) -> tuple[str, str]:
    sku, _ = new_item(settings)
    channel_sku = list_on_channel(settings, sku)
    set_dc_stock(settings, sku, on_hand)
    next_record(watcher, f"{sku}@{DC}", on_hand=on_hand)
    return sku, channel_sku


def epoch_ms(value: object) -> int:
    assert isinstance(value, dt.datetime)
    return int(value.timestamp() * 1000)


def test_a_hold_with_a_short_expiry_is_released_at_its_deadline_with_no_further_input(
    pipeline: Settings, availability: TopicWatcher
):
    sku, channel_sku = a_listed_item_with_stock(pipeline, availability, 10)
    key = f"{sku}@{DC}"
    deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=6)
    send_reservations(
        pipeline, [reservation_event("HOLD", f"cart-{uuid.uuid4().hex[:8]}", channel_sku, 3, expires_at=deadline)]
    )

    held = next_record(availability, key, reserved=3)
    assert (held["available"], held["cause"]) == (7, "reservation")
    released = next_record(availability, key, reserved=0)
    assert (released["available"], released["cause"]) == (10, "expiry")
    # The release carries the deadline as its source time, and was computed once the deadline had passed.
    assert abs(epoch_ms(released["source_ts_ms"]) - int(deadline.timestamp() * 1000)) <= 1
    assert epoch_ms(released["computed_ts_ms"]) >= int(deadline.timestamp() * 1000)


def test_a_fulfilment_followed_later_by_the_erp_decrement_never_shows_more_in_between(
    pipeline: Settings, availability: TopicWatcher
):
    sku, channel_sku = a_listed_item_with_stock(pipeline, availability, 10)
    key = f"{sku}@{DC}"
    order = f"order-{uuid.uuid4().hex[:8]}"
    send_reservations(pipeline, [reservation_event("CONFIRM", order, channel_sku, 4)])
    ordered = next_record(availability, key, committed=4, available=6)

    send_reservations(pipeline, [reservation_event("FULFILL", order, channel_sku, 4)])
    time.sleep(3)  # the warehouse ships; the ERP books the decrement a little later
    set_dc_stock(pipeline, sku, 6)
    settled = next_record(availability, key, on_hand=6)
    assert (settled["committed"], settled["available"]) == (0, 6)

    # Every record from the order on, as published: never more than 6, not even between shipment and decrement.
    published = [r for k, r in availability.drain(quiet_s=1.0) if k == key and r["version"] >= ordered["version"]]
    assert published and max(r["available"] for r in published) == 6


def test_selling_out_raises_an_out_of_stock_alert_in_the_topic_and_the_store(
    pipeline: Settings, availability: TopicWatcher
):
    alerts = TopicWatcher(pipeline.kafka, topics.ALERTS)
    try:
        sku, _ = a_listed_item_with_stock(pipeline, availability, 10)
        set_dc_stock(pipeline, sku, 0)
        alert, _ = alerts.wait_for(lambda k, r: k == f"{sku}@{DC}", 90)
    finally:
        alerts.close()
    assert (alert["kind"], alert["available"], alert["threshold"]) == (
        "OUT_OF_STOCK",
        0,
        pipeline.engine.low_stock_threshold,
    )
    deadline = time.monotonic() + 30
    rows: list[dict[str, object]] = []
    while not rows and time.monotonic() < deadline:
        rows = analyst.run_query(
            pipeline.store, "SELECT kind FROM atp.alerts FINAL WHERE sku = {sku:String}", {"sku": sku}
        )
        time.sleep(0.3)
    assert [r["kind"] for r in rows] == ["OUT_OF_STOCK"]


# -- chaos --------------------------------------------------------------------------------------

SKUS = 12
RESERVATIONS = 1200  # about 3,000 reservation events with their confirmations, releases and duplicates
BATCHES = 24
KILLS = 3


def lifecycle(reservation_id: str, channel_sku: str, rng: random.Random) -> list[tuple[bytes, bytes]]:
    qty = rng.randint(1, 3)
    events = [reservation_event("HOLD", reservation_id, channel_sku, qty)]
    ending = rng.choice(["held", "confirmed", "released", "confirmed then released"])
    if ending.startswith("confirmed"):
        events.append(reservation_event("CONFIRM", reservation_id, channel_sku, qty))
    if ending.endswith("released"):
        events.append(reservation_event("RELEASE", reservation_id, channel_sku, qty))
    events += [rng.choice(events) for _ in range(rng.randint(0, 1))]  # channels re-send
    if rng.random() < 0.2:
        rng.shuffle(events)  # and deliver out of order
    return events


def expected_holds(events: list[tuple[bytes, bytes]]) -> dict[str, tuple[int, int]]:
    """What an uninterrupted run ends with per channel SKU: (reserved, committed), by the spec's lifecycle."""
    import orjson

    ops: dict[str, set[str]] = {}
    meta: dict[str, tuple[str, int]] = {}
    for _, value in events:
        doc = orjson.loads(value)
        ops.setdefault(doc["reservation_id"], set()).add(doc["op"])
        meta[doc["reservation_id"]] = (doc["channel_sku"], doc["qty"])
    totals: dict[str, tuple[int, int]] = {}
    for rid, seen in ops.items():
        channel_sku, qty = meta[rid]
        reserved, committed = totals.get(channel_sku, (0, 0))
        if "RELEASE" not in seen:
            if "CONFIRM" in seen:
                committed += qty
            else:
                reserved += qty
        totals[channel_sku] = (reserved, committed)
    return totals


def wait_for_final_state(
    watcher: TopicWatcher, expected: dict[str, tuple[int, int, int]], timeout_s: float
) -> dict[str, Record]:
    """The highest-version record of each SKU at the DC, once every one shows the expected figures."""
    deadline = time.monotonic() + timeout_s
    latest: dict[str, Record] = {}
    while time.monotonic() < deadline:
        for key, record in watcher.drain(quiet_s=0.5):
            sku = key.rsplit("@", 1)[0]
            if (
                key.endswith(f"@{DC}")
                and sku in expected
                and record["version"] >= latest.get(sku, {"version": 0})["version"]
            ):
                latest[sku] = record
        figures = {sku: (r["on_hand"], r["reserved"], r["committed"]) for sku, r in latest.items()}
        if figures == expected:
            return latest
    missing = {sku: (figures.get(sku), want) for sku, want in expected.items() if figures.get(sku) != want}
    raise AssertionError(f"final state not reached within {timeout_s:.0f}s (got, expected): {missing}")


def kill_the_dataflow(settings: Settings, rng: random.Random) -> None:
    pid_file = flow_pid_file(settings.stack)
    old = pid_file.read_text()
    os.kill(int(old), signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the supervisor starts a new one
        if pid_file.exists() and pid_file.read_text() != old:
            time.sleep(rng.uniform(0.5, 3.0))  # so that the next kill lands mid-stream, not mid-start-up
            return
        time.sleep(0.2)
    raise AssertionError("the supervisor did not restart the dataflow within 60 s")


def test_killing_the_dataflow_at_random_points_ends_exactly_where_an_uninterrupted_run_ends(
    pipeline: Settings, availability: TopicWatcher
):
    rng = random.Random(20261122)
    items = [a_listed_item_with_stock(pipeline, availability, 5000) for _ in range(SKUS)]
    on_hand = {sku: 5000 for sku, _ in items}
    stream = []
    for n in range(RESERVATIONS):
        _, channel_sku = items[n % SKUS]
        stream += lifecycle(f"chaos-{uuid.uuid4().hex[:6]}-{n}", channel_sku, rng)
    batches = [stream[i::BATCHES] for i in range(BATCHES)]
    kill_after = set(rng.sample(range(2, BATCHES - 2), KILLS))

    for n, batch in enumerate(batches):
        send_reservations(pipeline, batch)
        sku, _ = items[n % SKUS]
        on_hand[sku] -= 7  # stock moves in the ERP meanwhile, through Debezium
        set_dc_stock(pipeline, sku, on_hand[sku])
        if n in kill_after:
            kill_the_dataflow(pipeline, rng)
        time.sleep(0.3)

    expected = {
        sku: (on_hand[sku], *expected_holds(stream)[channel_sku]) for sku, channel_sku in items
    }  # (on_hand, reserved, committed) an uninterrupted run ends with
    final = wait_for_final_state(availability, expected, timeout_s=240)
    for sku, (stock, reserved, committed) in expected.items():
        assert final[sku]["available"] == stock - reserved - committed

    seen = availability.drain(quiet_s=3.0)
    for sku, _ in items:
        key = f"{sku}@{DC}"
        versions = [r["version"] for k, r in seen if k == key]
        top = final[sku]["version"]
        # Re-sent records after a restart repeat versions already seen; nothing beyond the final one exists,
        # and the store's latest row is the final record.
        assert max([top, *versions]) == top, f"{key}: a version above the final state was published"
        rows = analyst.run_query(
            pipeline.store,
            "SELECT version, available, reserved, committed FROM atp.location_availability FINAL "
            "WHERE sku = {sku:String} AND location = {location:String}",
            {"sku": sku, "location": DC},
        )
        deadline = time.monotonic() + 30
        while (not rows or int(rows[0]["version"]) < top) and time.monotonic() < deadline:
            time.sleep(0.5)
            rows = analyst.run_query(
                pipeline.store,
                "SELECT version, available, reserved, committed FROM atp.location_availability FINAL "
                "WHERE sku = {sku:String} AND location = {location:String}",
                {"sku": sku, "location": DC},
            )
        assert [int(rows[0][f]) for f in ("version", "available", "reserved", "committed")] == [
            top,
            final[sku]["available"],
            final[sku]["reserved"],
            final[sku]["committed"],
        ]
        history = analyst.run_query(
            pipeline.store,
            "SELECT version FROM atp.availability_history FINAL WHERE sku = {sku:String} ORDER BY version",
            {"sku": sku},
        )
        assert [int(r["version"]) for r in history] == list(range(1, top + 1)), f"{key}: a version never landed"
