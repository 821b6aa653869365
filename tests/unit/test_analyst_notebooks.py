"""The analyst reports on a sample store, and every notebook executed against it (PNG outputs, assertions)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from atp import analyst_plots, analyst_reports
from atp.analyst_reports import AvailabilityPoint, DeadLetterCount
from atp.settings import PROJECT_ROOT
from connectors.clickhouse_store import ChdbStore, apply_ddl
from connectors.store_endpoint import read_only_statement
from tests import analyst_sample
from tests.analyst_sample import START_MS

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


def test_every_analyst_notebook_is_here():
    assert [p.name for p in NOTEBOOKS] == [
        "availability_over_time.ipynb",
        "channel_staleness.ipynb",
        "dead_letters.ipynb",
        "latency_over_time.ipynb",
        "oversell_risk.ipynb",
        "why_does_sku_show_n.ipynb",
    ]


def point(version: int, at_s: int, on_hand: int, reserved: int = 0, committed: int = 0) -> AvailabilityPoint:
    available = max(0, on_hand - reserved - committed)
    return AvailabilityPoint(version, START_MS + at_s * 1000, on_hand, 0, reserved, committed, 0, available, "", "")


@pytest.fixture(scope="module")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ATP_HOME whose chdb store holds the sample morning (closed again, for a notebook's kernel to open)."""
    home = tmp_path_factory.mktemp("analyst-home")
    store = ChdbStore(home / "chdb")
    try:
        analyst_sample.fill(store)
    finally:
        store.close()
    return home


@pytest.fixture(scope="module")
def empty_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ATP_HOME whose store has the tables and nothing in them: a pipeline not loaded yet."""
    home = tmp_path_factory.mktemp("analyst-empty-home")
    store = ChdbStore(home / "chdb")
    try:
        apply_ddl(store)
    finally:
        store.close()
    return home


@pytest.fixture
def sample_store(sample_home: Path) -> Iterator[ChdbStore]:
    store = ChdbStore(sample_home / "chdb")
    yield store
    store.close()


def test_a_key_is_at_risk_from_the_record_with_nothing_left_while_orders_hold_stock_until_the_next_without():
    history = [point(1, 0, 5), point(2, 10, 5, reserved=5), point(3, 20, 5, 3, 2), point(4, 50, 9, 3, 2)]
    [window] = analyst_reports.risk_windows("TEE", "ST0001", history, as_of_ms=0)
    assert (window.start_ms, window.end_ms, window.duration_ms) == (START_MS + 10_000, START_MS + 50_000, 40_000)
    assert (window.start_version, window.end_version, window.records, window.peak_promised) == (2, 4, 2, 5)


def test_sold_out_with_no_order_open_is_no_risk_and_an_open_window_runs_to_as_of():
    history = [point(1, 0, 0), point(2, 10, 2, reserved=2)]
    [window] = analyst_reports.risk_windows("MUG", "ST0002", history, as_of_ms=START_MS + 25_000)
    assert (window.start_version, window.end_version, window.end_ms, window.duration_ms) == (2, None, None, 15_000)


def test_a_source_clock_stepping_back_never_gives_a_negative_duration():
    history = [point(1, 10, 1, reserved=1), point(2, 5, 3, reserved=1)]
    assert [w.duration_ms for w in analyst_reports.risk_windows("TEE", "ST0001", history, 0)] == [0]


def test_nearest_rank_percentiles():
    assert analyst_reports.spread([5, 1, 4, 2, 3]) == analyst_reports.Spread(count=5, p50=3, p95=5, max=5)
    assert analyst_reports.spread([]) == analyst_reports.Spread(0, 0, 0, 0)


def test_dead_letter_breakdowns_each_add_up_to_the_total():
    counts = [DeadLetterCount("bad", "erp", 0, 2), DeadLetterCount("bad", "pos", 60_000, 1),
              DeadLetterCount("odd", "pos", 60_000, 4)]  # fmt: skip
    assert analyst_reports.count_by_reason(counts) == {"odd": 4, "bad": 3}
    assert analyst_reports.count_by_source(counts) == {"pos": 5, "erp": 2}
    assert analyst_reports.count_by_minute(counts) == {0: 2, 60_000: 5}


def test_the_sample_store_gives_the_risk_windows_staleness_and_dead_letters_it_was_built_with(sample_store):
    windows = analyst_reports.oversell_risk(sample_store)
    assert [
        (w.sku, w.location, (w.start_ms - START_MS) // 1000,
         None if w.end_ms is None else (w.end_ms - START_MS) // 1000, w.duration_ms)
        for w in windows
    ] == analyst_sample.EXPECTED_WINDOWS  # fmt: skip
    assert analyst_reports.busiest_key(sample_store) == ("TEE-1001-BLK-M", "ST0001")
    staleness = analyst_reports.channel_staleness(sample_store)
    assert len(staleness) == 8  # four channels, two listings each, their latest records
    assert all(60 < s.staleness_ms < 1_400 for s in staleness)
    counts = analyst_reports.dead_letter_counts(sample_store)
    assert analyst_reports.count_by_reason(counts) == {"unknown_sku": 4, "decode_error": 3, "hold_without_expiry": 2}
    minutes = analyst_reports.latency_by_minute(sample_store)
    assert sum(m.records for m in minutes) == sum(len(h) for h in analyst_sample.HISTORY.values())
    assert all(0 < m.publish_p50 <= m.publish_max < 450 and m.load_min >= 150 for m in minutes)


def test_every_report_query_is_one_plain_select_the_loaders_endpoint_accepts(sample_store):
    queries = (
        analyst_reports.HISTORY_SQL,
        analyst_reports.BUSIEST_KEY_SQL,
        analyst_reports.HISTORIES_AT_RISK_SQL,
        analyst_reports.LATEST_SOURCE_SQL,
        analyst_reports.CHANNEL_STALENESS_SQL,
        analyst_reports.DEAD_LETTERS_SQL,
        analyst_reports.LATENCY_SQL,
    )
    for sql in queries:
        read_only_statement(sample_store, sql, {"sku": "TEE-1001-BLK-M", "location": "ST0001"})


def test_every_chart_renders_a_png_even_from_an_empty_store():
    for png in (
        analyst_plots.availability_chart("TEE", "ST0001", []),
        analyst_plots.risk_chart([]),
        analyst_plots.staleness_chart([]),
        analyst_plots.dead_letter_chart([]),
        analyst_plots.latency_chart([]),
        analyst_plots.why_chart("TEE", "ST0001", []),
    ):
        assert png._repr_png_().startswith(analyst_plots.PNG_MAGIC)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def execute(path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Run the notebook on the store under ``home``; its outputs. A failed assertion in a cell raises."""
    # The kernel inherits this environment: ATP_HOME points it at the store, and a port nothing
    # listens on keeps it from asking a running loader (another stack's) instead of opening the store.
    for name in [n for n in os.environ if n.startswith("ATP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("ATP_HOME", str(home))
    monkeypatch.setenv("ATP_STORE_PORT", str(_free_port()))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
    ).execute()
    return [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]


def drew_a_png(outputs: list[dict[str, Any]]) -> bool:
    return any("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_notebook_runs_on_the_sample_store_its_assertions_hold_and_it_draws_a_png(
    sample_home: Path, path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert drew_a_png(execute(path, sample_home, monkeypatch)), f"{path.name} drew no chart"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_notebook_runs_on_an_empty_store_and_still_draws_a_png(
    empty_home: Path, path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert drew_a_png(execute(path, empty_home, monkeypatch)), f"{path.name} drew no chart"


def test_the_why_chain_is_read_again_until_it_reaches_the_version_shown():
    class CatchingUp:
        """The loader's order: the latest figure is at version 3 before the history has it."""

        def __init__(self) -> None:
            self.chains = [[{"version": 1}, {"version": 2}], [{"version": 1}, {"version": 2}, {"version": 3}]]

        def query(self, sql: str, params: dict[str, object] | None = None) -> list[dict[str, Any]]:
            if "location_availability" in sql:
                return [{"version": 3, "available": 4, "status": "LOW_STOCK"}]
            return self.chains.pop(0)

    shown, chain = analyst_reports.shown_and_why(CatchingUp(), "TEE", "ST0001", pause_s=0)  # type: ignore[arg-type]
    assert shown is not None and shown["version"] == 3
    assert [r["version"] for r in chain] == [1, 2, 3]


def test_times_read_as_utc_and_a_chart_prints_without_an_object_address():
    assert analyst_reports.utc(START_MS + 61_500) == "2026-11-22 10:01:01"
    assert repr(analyst_plots.risk_chart([])).startswith("<chart: PNG, ")
