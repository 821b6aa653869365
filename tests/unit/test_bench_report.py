"""The bench's results file puts the Quix Streams peer's figures beside ours, with the verdict on the target."""

from __future__ import annotations

from bench.findings import Findings, summary_table
from bench.machine import Machine
from bench.peer import LiveLatency, PeerFindings
from bench.results import write_results
from bench.results_json import summary_figures
from bench.stages import Breakdown


def _findings(ours: float, peer: float, mismatched: int = 0) -> Findings:
    findings = Findings(Machine(2, 23.5, "test CPU", (1.0, 1.0, 1.0), "3.11"))
    findings.peer = PeerFindings(
        inputs=84_610,
        keys=20_000,
        mismatched_keys=mismatched,
        peer_events_per_s=peer,
        ours_inprocess_events_per_s=9_000.0,
        ours_kafka_events_per_s=ours,
        live=[
            LiveLatency(100, "quix peer", 14, 37, 92, 193, 5826),
            LiveLatency(100, "ours (bytewax.run, Kafka, Avro, recovery 1 s)", 40, 90, 150, 300, 5826),
        ],
    )
    return findings


def test_the_summary_gives_the_ratio_to_the_peer_and_its_verdict():
    table = summary_table(_findings(ours=5_000, peer=2_000))
    assert "ours 5,000 vs peer 2,000 events/s (2.50x; 0 of 20,000 keys differ)" in table
    assert "| met" in table
    assert "ours p50 40 / p99 150 ms, peer p50 14 / p99 92 ms" in table


def test_a_faster_run_whose_outputs_differ_from_the_peer_does_not_meet_the_target():
    assert "NOT met" in summary_table(_findings(ours=5_000, peer=2_000, mismatched=3))


def test_the_results_file_has_a_section_with_the_peer_beside_ours(tmp_path):
    out = tmp_path / "results.md"
    write_results(_findings(ours=5_000, peer=2_000), out)
    text = out.read_text()
    assert "## f. Quix Streams peer" in text
    assert "Ours over Kafka / the peer: **2.50x**" in text
    assert "not measured by `python -m bench long`" not in text


def test_the_summary_figures_name_every_figure_and_leave_unmeasured_ones_null():
    findings = _findings(ours=5_000, peer=2_000)
    shares = {"decode": 0.25, "routing": 0.75}
    findings.inprocess = Breakdown(events=1_000, wall_s=0.5, cpu_s=0.4, samples=100, share=shares)
    figures = summary_figures(findings, commit="abc123")
    assert figures["commit"] == "abc123"
    assert figures["peer_ratio"] == 2.5
    assert figures["throughput_eps_inprocess"] == 2_000
    assert figures["stages_us_per_event_inprocess"] == {"decode": 125.0, "routing": 375.0}
    assert figures["throughput_eps_1proc"] is None and figures["rss_bytes_per_key"] is None
    for rate in ("200", "1000"):
        for figure in ("availability_p50_ms", "availability_p99_ms", "channel_p50_ms", "channel_p99_ms"):
            assert f"{figure}_at_{rate}" in figures


def test_the_lookup_api_load_lands_in_the_summary_figures_and_the_table():
    from bench.api_load import ApiLoadResult
    from bench.findings import summary_table
    from bench.stats import LatencySummary

    findings = _findings(ours=5_000, peer=2_000)
    assert summary_figures(findings, commit="abc")["api_p99_ms"] is None
    latency = LatencySummary(count=30_000, p50_ms=0.4, p95_ms=0.9, p99_ms=2.5, max_ms=12.0)
    findings.api = ApiLoadResult(100_000, 1000.0, 999.0, 30.0, 16, latency, {"sku_at_location": latency}, 0)
    assert summary_figures(findings, commit="abc")["api_p99_ms"] == 2.5
    assert "lookup API in process, 100,000 keys" in summary_table(findings)


def test_the_api_load_tool_drives_the_server_on_its_schedule_and_every_lookup_finds_its_key():
    from bench.api_load import measure

    result = measure(keys=400, rate=200.0, seconds=1, connections=2)
    assert result.keys == 400 and result.errors == 0 and result.latency.count == 200
    assert set(result.by_kind) <= {"sku_at_location", "sku_across_locations", "channel_sku", "nearby"}
