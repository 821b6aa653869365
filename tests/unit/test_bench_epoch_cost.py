"""``python -m bench.epoch_cost``: the fixed cost of an epoch close fitted from two runs, Bytewax's recovery GC on
its own schema, and the section and figures it adds to a long run's results."""

from __future__ import annotations

import sqlite3

import orjson
import pytest

from bench import epoch_cost
from bench.epoch_cost import EpochCost, GcCost, InProcessRun, RunConfig, StepRows
from bench.findings import Findings
from bench.machine import Machine
from bench.results import write_results
from bench.results_json import summary_figures


def _rows(table: str) -> list[list[str]]:
    """The cells of a markdown table, stripped of their padding."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()]


def _wall_s(work_s: float, close_s: float, epoch_s: float) -> float:
    """The wall time of a run doing ``work_s`` of work with a close every ``epoch_s``: T = W + (T / epoch) c."""
    return work_s / (1 - close_s / epoch_s)


def _run(partitions: int, epoch_s: float, wall_s: float, events: int = 100_000) -> InProcessRun:
    return InProcessRun(RunConfig(partitions, epoch_s), events, wall_s, wall_s * 0.9, 5_000)


def _found() -> EpochCost:
    gc = [GcCost(10_000, 20, 200, 1.0, 9.0, 10_000), GcCost(100_000, 20, 200, 2.0, 78.0, 100_000)]
    runs = [
        _run(0, 0.2, 15.0),
        _run(8, 0.2, _wall_s(10.0, 0.1, 0.2)),
        _run(8, 1.0, _wall_s(10.0, 0.1, 1.0)),
    ]
    store = [StepRows("atp_availability.sku_availability.availability", 2_000, 0), StepRows("kits", 201, 151)]
    return EpochCost(gc, runs, store, changes=30_000)


def test_the_two_point_fit_recovers_the_work_and_the_fixed_cost_of_a_close():
    fast, slow = (_wall_s(12.0, 0.08, 0.2), 0.2), (_wall_s(12.0, 0.08, 1.0), 1.0)
    fit = epoch_cost.two_point_fit(fast, slow)
    assert fit is not None
    assert fit.close_s == pytest.approx(0.08)
    assert fit.work_s == pytest.approx(12.0)


def test_two_runs_with_as_many_closes_give_no_fit():
    assert epoch_cost.two_point_fit((10.0, 0.2), (50.0, 1.0)) is None


def test_the_fit_is_taken_over_the_8_partition_runs_at_02_and_1_s():
    fit = _found().fit
    assert fit is not None and fit.close_s == pytest.approx(0.1)
    assert EpochCost([], [_run(8, 0.2, 20.0), _run(2, 0.2, 15.0)], [], 30_000).fit is None


def test_the_gc_table_gives_ms_per_epoch_and_its_share_of_a_02_s_epoch():
    rows = _rows(epoch_cost.gc_table(_found().gc))
    assert rows[0][:2] == ["snaps rows in the partition", "write 200 snapshots ms"]
    assert ["10,000", "1.0", "9.0", "10.0", "5%", "20"] in rows
    assert ["100,000", "2.0", "78.0", "80.0", "40%", "20"] in rows


def test_the_runs_table_gives_events_per_second_and_epoch_closes_by_configuration():
    rows = _rows(epoch_cost.runs_table(_found().runs))
    assert ["no recovery, 0.2 s epochs", "100,000", "15.0", "13.5", "6,667", "75"] in rows
    assert rows[-1][0] == "recovery 8 partitions, 1 s epochs"


def test_the_description_has_both_tables_the_fit_and_the_store_by_step():
    text = "\n".join(epoch_cost.describe(_found()))
    assert "not the copy bundled in Bytewax" in text
    assert "two-point fit" in text and "c = **100 ms**" in text
    assert ["kits", "201", "151"] in _rows(text)
    assert ["total", "2,201", "151"] in _rows(text)


def test_bytewaxs_gc_keeps_one_snapshot_per_key_on_a_tiny_partition():
    cost = epoch_cost.measure_gc(rows=60, keys_per_epoch=10, epochs=3)
    assert (cost.rows, cost.epochs, cost.keys_per_epoch) == (60, 3, 10)
    assert cost.rows_after == 60  # each epoch's 10 rewrites replaced, not added to, the keys' snapshots
    assert cost.write_ms > 0 and cost.commit_gc_ms > 0


def test_the_store_is_counted_by_step_over_its_partition_files_with_tombstones(tmp_path):
    from bytewax.recovery import init_db_dir

    init_db_dir(tmp_path, 2)
    for part, rows in enumerate(([("a", "k1", b"x"), ("a", "k2", None)], [("a", "k3", b"x"), ("b", "k4", b"x")])):
        with sqlite3.connect(tmp_path / f"part-{part}.sqlite3") as connection:
            connection.executemany(
                "INSERT INTO snaps (step_id, state_key, snap_epoch, ser_change) VALUES (?, ?, 1, ?)", rows
            )
    assert epoch_cost.store_rows(tmp_path) == [StepRows("a", 3, 1), StepRows("b", 1, 0)]


def _findings() -> Findings:
    return Findings(Machine(2, 23.5, "test CPU", (1.0, 1.0, 1.0), "3.11"))


def test_a_long_run_writes_section_i_and_its_figures(tmp_path):
    findings = _findings()
    findings.epoch_cost = _found()
    figures = orjson.loads(orjson.dumps(summary_figures(findings, commit="abc123")))
    assert figures["epoch_close_ms_fixed"] == pytest.approx(100.0)
    assert figures["recovery_gc_ms_per_epoch"] == {"10000": 10.0, "100000": 80.0}
    assert figures["throughput_eps_inprocess_by_epoch"]["no recovery, 0.2 s epochs"] == pytest.approx(6_666.7)
    out = tmp_path / "results.md"
    write_results(findings, out)
    text = out.read_text()
    assert "## i. What an epoch close costs (recovery)" in text
    assert "RecoveryCommitter::commit" in text and "two-point fit" in text


def test_a_long_run_without_the_epoch_figures_leaves_them_null():
    figures = summary_figures(_findings(), commit="abc123")
    for key in ("epoch_close_ms_fixed", "recovery_gc_ms_per_epoch", "throughput_eps_inprocess_by_epoch"):
        assert key in figures and figures[key] is None
