"""Figures c and d: RSS per SKU-location key in state, recovery size on disk, resume after SIGKILL.

One flow process: it first reads the reference data (locations, items, listings, ...), then every stock
balance of the retailer (ERP STOCK_BAL at each DC, POS store_stock at each store: one SKU-location key
each). RSS before and after the stock is the cost of the keys. Then the process is SIGKILLed and started
again on the same recovery store, and we time how long until a fresh change comes out of it.
If the flow dies while loading, the figures are taken from the last sample before it died, and say so.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from atp.demo.generator import DemoSize, generate
from atp.settings import Settings
from bench.dataflow import FlowRun, Progress, follow, fresh_recovery, recovery_bytes
from bench.shapes import ChangeLog, erp_change, reference_messages, stock_messages
from bench.stats import median
from bench.topics import INPUT_TOPICS, BenchError, empty_topics, prefill, watermarks
from bench.watch import first_availability


@dataclass(frozen=True)
class MemoryResult:
    keys_offered: int  # stock balances written to the input topics
    keys_loaded: int  # of those, read by the flow (as of its last snapshot) when RSS was taken
    rss_before_bytes: int
    rss_after_bytes: int
    recovery_bytes: int
    load_seconds: float
    died: str  # "" if the flow lived through the load, else how it ended

    @property
    def bytes_per_key(self) -> float:
        return (self.rss_after_bytes - self.rss_before_bytes) / self.keys_loaded if self.keys_loaded else 0.0

    @property
    def load_rate(self) -> float:
        return self.keys_loaded / self.load_seconds if self.load_seconds > 0 else 0.0


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


def measure(settings: Settings, size: DemoSize, timeout_s: float = 600) -> tuple[MemoryResult, ResumeResult | None]:
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
        samples: list[Progress] = []
        try:
            follow(run, start, reference + keys, timeout_s, samples)
        except BenchError as exc:
            loaded = [s for s in samples if s.rss_bytes > 0]
            last = loaded[-1] if loaded else Progress(0.0, reference, before)
            first = next((s for s in loaded if s.consumed > reference), last)
            memory = MemoryResult(
                keys, last.consumed - reference, before, last.rss_bytes, recovery_bytes(settings),
                last.seconds - first.seconds, str(exc),
            )  # fmt: skip
            return memory, None
        time.sleep(2 * settings.dataflow.snapshot_interval_s + 1)  # the last epoch's snapshot is written
        after = _settled_rss(run)
        first = next(s for s in samples if s.consumed > reference)
        memory = MemoryResult(
            keys, keys, before, after, recovery_bytes(settings), samples[-1].seconds - first.seconds, ""
        )

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
                resumed.stop()
        if not arrival.seen_at:
            raise BenchError("the restarted dataflow published no record for the fresh change within 300 s")
        return memory, ResumeResult(keys, arrival.seen_at - restarted)
    finally:
        run.stop()
