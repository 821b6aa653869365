"""Section h of ``bench/results.md``: the stage breakdown beside the committed one of an earlier run."""

from __future__ import annotations

import orjson

from bench.findings import Findings
from bench.machine import Machine
from bench.results import _stages_section
from bench.stages import STAGES_BEFORE, Breakdown, load_baseline


def _rows(lines: list[str]) -> list[list[str]]:
    table = [line for line in "\n".join(lines).splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table]


def _findings() -> Findings:
    findings = Findings(Machine(2, 23.5, "test CPU", (1.0, 1.0, 1.0), "3.11"))
    # 1,000 events in 0.2 s: 200 us each, 120 of them in decode, 80 in routing
    shares = {"routing": 0.4, "decode": 0.6}
    findings.inprocess = Breakdown(events=1_000, wall_s=0.2, cpu_s=0.2, samples=50, share=shares)
    return findings


def _baseline(tmp_path):
    path = tmp_path / "stages-before.json"
    path.write_bytes(
        orjson.dumps({
            "commit": "80df8f8382a37539e303533cff3ee03a7d2d5bd0",
            "date": "2026-12-03T11:34:22+00:00",
            "throughput_eps_inprocess": 4_000.0,
            "us_per_event_inprocess": 250.0,
            "stages_us_per_event_inprocess": {"routing": 100.0, "decode": 100.0, "wake (unpickle)": 50.0},
        })
    )  # fmt: skip
    return path


def test_section_h_puts_each_stage_before_and_now_costliest_first_with_the_totals(tmp_path):
    rows = _rows(_stages_section(_findings(), before=_baseline(tmp_path)))
    assert rows[0] == ["stage", "before (80df8f8) us/event", "now us/event", "change"]
    assert rows[2:] == [
        ["decode", "100.0", "120.0", "+20.0 (+20%)"],
        ["routing", "100.0", "80.0", "-20.0 (-20%)"],
        ["wake (unpickle)", "50.0", "-", "no samples now"],
        ["total (wall per input event)", "250.0", "200.0", "-50.0 (-20%)"],
        ["events/s", "4,000", "5,000", "+25%"],
    ]


def test_section_h_names_the_baselines_commit_and_date(tmp_path):
    text = "\n".join(_stages_section(_findings(), before=_baseline(tmp_path)))
    assert "long run on 80df8f8 (2026-12-03T11:34:22+00:00)" in text


def test_without_a_baseline_section_h_is_one_table_of_this_run(tmp_path):
    rows = _rows(_stages_section(_findings(), before=tmp_path / "missing.json"))
    assert rows[0] == ["stage", "share", "us/event"]
    assert ["decode", "60.0%", "120.0"] in rows


def test_the_committed_baseline_is_the_long_run_on_80df8f8():
    baseline = load_baseline(STAGES_BEFORE)
    assert baseline is not None
    assert baseline.commit.startswith("80df8f8") and round(baseline.events_per_s) == 3_884
    assert baseline.stages["snapshot (pickle)"] == 48.68
