"""Figures c and d: RSS per SKU-location key in state, recovery size on disk, resume after SIGKILL.

One flow process: it first reads the reference data (locations, items, listings, ...), then every stock
balance of the retailer (ERP STOCK_BAL at each DC, POS store_stock at each store: one SKU-location key
each). RSS before and after the stock is the cost of the keys. Then the process is SIGKILLed and started
again on the same recovery store, and we time how long until a fresh change comes out of it.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from atp.demo.generator import DemoSize, generate
from atp.settings import Settings
from bench.dataflow import FlowRun, Throughput, follow, fresh_recovery, recovery_bytes, throughput_of
from bench.shapes import ChangeLog, erp_change, reference_messages, stock_messages
from bench.stats import median
from bench.topics import INPUT_TOPICS, BenchError, empty_topics, prefill, watermarks
from bench.watch import first_availability


@dataclass(frozen=True)
class MemoryResult:
    keys: int
    rss_before_bytes: int
    rss_after_bytes: int
    recovery_bytes: int
    loading: Throughput  # reading the stock balances

    @property
    def bytes_per_key(self) -> float:
        return (self.rss_after_bytes - self.rss_before_bytes) / self.keys


@dataclass(frozen=True)
class ResumeResult:
    keys: int
    seconds_to_fresh_output: float  # from the restart to the fresh change's record on atp.availability


def _settled_rss(run: FlowRun, seconds: float = 4.0) -> int:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(run.rss_bytes())
        time.sleep(0.25)
    return int(median(samples))


def measure(settings: Settings, size: DemoSize, timeout_s: float = 3600) -> tuple[MemoryResult, ResumeResult]:
    data = generate(size)
    log = ChangeLog()
    empty_topics(settings)
    start = watermarks(settings, INPUT_TOPICS)
    reference = prefill(settings, reference_messages(log, data))
    fresh_recovery(settings)
    run = FlowRun(settings, 1, label="memory")
    run.start()
    try:
        follow(run, start, reference, timeout_s)
        before = _settled_rss(run)
        keys = prefill(settings, stock_messages(log, data))
        samples = follow(run, start, reference + keys, timeout_s)
        time.sleep(2 * settings.snapshot_interval_s + 1)  # the last epoch's snapshot is written
        after = _settled_rss(run)
        memory = MemoryResult(keys, before, after, recovery_bytes(settings), throughput_of(samples, keys))

        # d: SIGKILL, restart on the same recovery store, a fresh DC stock change, time to its record.
        run.kill()
        sku, dc = data.stock_bal[0].item_no, data.stock_bal[0].loc_cd
        marker = 900_000 + os.getpid() % 1000
        row = {"ITEM_NO": sku, "LOC_CD": dc, "QTY_OH": f"{marker}.000", "QTY_HOLD": "0.000", "UPD_TS": 0}
        resumed = FlowRun(settings, 1, label="resume")
        with first_availability(settings, f"{sku}@{dc}", marker) as arrival:
            restarted = time.monotonic()
            resumed.start()
            prefill(settings, [erp_change(log, "STOCK_BAL", ("ITEM_NO", "LOC_CD"), row)])
            try:
                arrival.wait(timeout_s=300, alive=resumed.alive)
            finally:
                seconds = arrival.seen_at - restarted if arrival.seen_at else float("nan")
                resumed.stop()
        if not arrival.seen_at:
            raise BenchError("the restarted dataflow published no record for the fresh change within 300 s")
        return memory, ResumeResult(keys, seconds)
    finally:
        run.stop()
