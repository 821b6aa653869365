"""The promotions gate in the whole dataflow: a listing's channel figure that holds becomes promotable by timer, with
no further input, and stops being promotable in the epoch its figure falls."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSink, run_main

from atp.domain.channels import ChannelRecord
from atp.domain.promotable import PromotableRecord
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import ERP_STOCK, stock_bal_row
from tests.paced_source import PacedSource, ResumablePacedSource, run_paced
from tests.unit.test_engine_flow import EPOCH, a_shirt_listed_on_shopify, erp

STABLE_S = 0.6


SETTINGS = settings_from_fields(
    low_stock_threshold=2,
    store_safety_stock=0,
    unresolved_wait_s=0,
    promotable_min_available=5,
    promotable_stable_s=STABLE_S,
)


def run(schedule: list, linger_s: float, workers: int = 1) -> list:
    return run_paced(SETTINGS, schedule, linger_s, EPOCH, workers)


def promotable(out: list) -> list[PromotableRecord]:
    return [r for r in out if isinstance(r, PromotableRecord)]


def channel(out: list) -> list[ChannelRecord]:
    return [r for r in out if isinstance(r, ChannelRecord)]


def recount(units: str):
    return erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", units), "STOCK_BAL", op="u")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_listing_in_stock_becomes_promotable_after_the_stable_time_with_no_further_input(workers: int):
    out = run([(0.0, m) for m in a_shirt_listed_on_shopify()], linger_s=STABLE_S + 0.6, workers=workers)
    [listed] = channel(out)
    [record] = promotable(out)
    assert (record.channel, record.channel_sku, record.sku, record.promotable, record.available, record.version) == (
        "SHOPIFY",
        "SH-TEE-1",
        "TEE-1",
        True,
        10,
        1,
    )
    assert record.since_ms == listed.computed_ts_ms
    assert record.computed_ts_ms >= listed.computed_ts_ms + STABLE_S * 1000


def test_a_sell_out_is_not_promotable_at_once_and_a_dip_before_the_deadline_publishes_nothing():
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule += [(0.2, recount("3.000")), (0.35, recount("10.000"))]  # a dip while it waits: counted again
    schedule += [(0.35 + STABLE_S + 0.4, recount("0.000"))]  # promotable by then; sold out
    out = run(schedule, linger_s=0.4)
    shown = [(r.promotable, r.available, r.version) for r in promotable(out)]
    assert shown == [(True, 10, 1), (False, 0, 2)]
    became, sold_out = promotable(out)
    rose_again = next(r for r in channel(out) if r.version == 3)
    assert became.since_ms == rose_again.computed_ts_ms  # counted from the rise after the dip
    sold = next(r for r in channel(out) if r.available == 0)
    assert sold_out.since_ms == sold.computed_ts_ms and sold_out.computed_ts_ms - sold.computed_ts_ms < 100


def test_below_the_minimum_nothing_is_ever_published():
    out = run([(0.0, m) for m in a_shirt_listed_on_shopify("4.000")], linger_s=STABLE_S + 0.4)
    assert [r.available for r in channel(out)] == [4]
    assert promotable(out) == []


def test_within_one_epoch_a_figure_back_where_it_began_keeps_the_verdict():
    """Long epochs: the stock falls and comes back within one, the channel publishes nothing, the verdict stays."""
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule += [(STABLE_S + 0.3, recount("1.000")), (STABLE_S + 0.3, recount("10.000"))]
    out: list = []
    config = settings_from_fields(
        low_stock_threshold=2, store_safety_stock=0, promotable_min_available=5, promotable_stable_s=STABLE_S
    )
    flow = availability_flow(config, PacedSource(schedule, 0.4), TestingSink(out))
    run_main(flow, epoch_interval=dt.timedelta(milliseconds=200))
    assert [r.available for r in channel(out)] == [10]
    assert [(r.promotable, r.version) for r in promotable(out)] == [(True, 1)]


def test_a_listing_restocked_before_a_restart_becomes_promotable_after_it_with_no_further_input(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(tmp_path), "1"], check=True, capture_output=True)
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]

    def resume(linger_s: float) -> list:
        out: list = []
        flow = availability_flow(SETTINGS, ResumablePacedSource(schedule, linger_s), TestingSink(out))
        run_main(flow, epoch_interval=dt.timedelta(milliseconds=100), recovery_config=RecoveryConfig(str(tmp_path)))
        return out

    before = resume(linger_s=0.2)  # stops well before the stable time ends
    after = resume(linger_s=STABLE_S + 0.6)  # no input left: only the timer, re-armed from the snapshot

    assert [r.available for r in channel(before)] == [10] and promotable(before) == []
    assert channel(after) == []
    assert [(r.promotable, r.available, r.version) for r in promotable(after)] == [(True, 10, 1)]
    assert promotable(after)[0].since_ms == channel(before)[0].computed_ts_ms
