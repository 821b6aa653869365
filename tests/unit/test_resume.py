"""A flow killed and resumed from its recovery store goes on as if it had never stopped.

Keys rest pickled between epochs and a resumed key is not unpickled until it is used
(flows.keyed.KeyedLogic): its snapshot carries its next deadline, so a timer set
before the restart still fires after it, with no further input.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSink, run_main

from atp.domain.records import AvailabilityRecord
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.debezium_events import ERP_STOCK, stock_bal_row
from tests.paced_source import ResumablePacedSource
from tests.unit.test_engine_flow import a_shirt_listed_on_shopify, erp, in_a_moment, reservation


def _run(schedule: list, recovery: Path, linger_s: float) -> list:
    out: list = []
    config = settings_from_fields(low_stock_threshold=2, store_safety_stock=0, unresolved_wait_s=0)
    flow = availability_flow(config, ResumablePacedSource(schedule, linger_s), TestingSink(out))
    run_main(flow, epoch_interval=dt.timedelta(milliseconds=100), recovery_config=RecoveryConfig(str(recovery)))
    return out


def _store(tmp_path: Path) -> Path:
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(tmp_path), "1"], check=True, capture_output=True)
    return tmp_path


def _shirt(out: list) -> list[tuple[int, int, str, int]]:
    return [
        (r.reserved, r.available, r.cause, r.version)
        for r in out
        if isinstance(r, AvailabilityRecord) and r.key == "TEE-1@DC0001"
    ]


def test_a_hold_placed_before_a_restart_lapses_after_it_with_no_further_input(tmp_path):
    recovery = _store(tmp_path)
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    schedule.append((0.3, reservation("HOLD", qty=3, expires_at=in_a_moment(1.4))))  # an epoch after the stock

    before = _run(schedule, recovery, linger_s=0.3)
    after = _run(schedule, recovery, linger_s=1.5)

    assert _shirt(before) == [(0, 10, "stock", 1), (3, 7, "reservation", 2)]
    assert _shirt(after) == [(0, 10, "expiry", 3)]


def test_a_resumed_key_goes_on_from_its_state_and_version(tmp_path):
    recovery = _store(tmp_path)
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify()]
    before = _run(schedule, recovery, linger_s=0.3)

    recount = erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", "8.000"), "STOCK_BAL", op="u")
    after = _run([*schedule, (0.0, recount)], recovery, linger_s=0.3)

    assert _shirt(before) == [(0, 10, "stock", 1)]
    assert _shirt(after) == [(0, 8, "stock", 2)]
