"""bench/results.md says, for each target a run missed, its measured reason and the next step, from its figures."""

from __future__ import annotations

from bench.findings import Findings
from bench.machine import Machine
from bench.results import write_results
from bench.target_reasons import missed_targets
from tests.unit.test_bench_report import _at_scale, _latency_run, _throughput_run


def _empty() -> Findings:
    return Findings(Machine(2, 23.5, "test CPU", (1.0, 1.0, 1.0), "3.11"))


def test_a_run_that_measured_nothing_names_every_target_as_not_measured_rather_than_inventing_a_figure():
    text = "\n".join(missed_targets(_empty()))
    for target in ("**Throughput**", "**Two processes**", "**Latency**", "**Memory**", "**Resume**"):
        assert target in text
    assert "not measured in this run" in text and "Next step" in text


def test_the_reasons_quote_the_run_s_own_figures():
    findings = _empty()
    findings.throughput = {1: [_throughput_run(1, 60_000, 10.0)], 2: [_throughput_run(2, 60_000, 30.0)]}
    findings.live = [_latency_run(200.0, 150, 420), _latency_run(1000.0, 200, 700)]
    findings.at_scale = _at_scale(1_000_000, 18.5)
    text = "\n".join(missed_targets(findings))
    assert "6,000/s over Kafka" in text and "3.00x" in text
    assert "p99 420 ms at 200/s, 700 ms at 1,000/s" in text
    assert "**Memory**" not in text  # 250 bytes per key meets its target
    assert "18.5 s" in text


def test_the_results_file_has_the_section(tmp_path):
    out = tmp_path / "results.md"
    write_results(_empty(), out)
    assert "## Targets missed: the measured reason and the next step" in out.read_text()
