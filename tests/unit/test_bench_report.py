"""The bench's results file puts the Quix Streams peer's figures beside ours, with the verdict on the target."""

from __future__ import annotations

import orjson

from bench.__main__ import build_parser
from bench.dataflow import Throughput
from bench.findings import Findings, summary_table
from bench.latency import LatencyRun
from bench.load import LoadResult
from bench.machine import Machine
from bench.peer import LiveLatency, PeerFindings
from bench.results import write_results
from bench.results_json import merge_at_scale, summary_figures, write_results_json
from bench.resume import ResumeAtScale
from bench.stages import Breakdown
from bench.stats import LatencySummary
from bench.throughput import ThroughputRun


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
    assert figures["cpu_per_kevent_1proc_s"] is None and figures["cpu_per_kevent_2proc_s"] is None
    assert figures["resume_s_1m_keys"] is None
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


def _rows(table: str) -> list[list[str]]:
    """The cells of a markdown table, stripped of their padding."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.splitlines()]


def _throughput_run(processes: int, steady_events: int, steady_cpu_s: float) -> ThroughputRun:
    result = Throughput(
        events=steady_events, wall_s=12.0, steady_s=10.0, steady_events=steady_events, peak_rss_bytes=2**27,
        steady_cpu_s=steady_cpu_s,
    )  # fmt: skip
    return ThroughputRun(processes, result, outputs=1_000)


def _latency_run(rate: float, p50_ms: float, p99_ms: float) -> LatencyRun:
    summary = LatencySummary(count=100, p50_ms=p50_ms, p95_ms=p99_ms, p99_ms=p99_ms, max_ms=p99_ms)
    load = LoadResult(writes=[], seconds=20.0, failed=0)
    return LatencyRun(rate, load, summary, summary, 0, 0, p50_ms, p50_ms, rate, {}, {})


def test_the_cpu_per_thousand_events_of_one_and_two_processes_and_their_ratio_are_reported(tmp_path):
    findings = _findings(ours=5_000, peer=2_000)
    findings.throughput = {
        1: [_throughput_run(1, 50_000, 10.0), _throughput_run(1, 50_000, 12.0), _throughput_run(1, 50_000, 11.0)],
        2: [_throughput_run(2, 50_000, 15.4)],
    }
    figures = summary_figures(findings, commit="abc123")
    assert figures["cpu_per_kevent_1proc_s"] == 0.22  # the median run: 11 CPU-s over 50,000 events
    assert figures["cpu_per_kevent_2proc_s"] == 0.308
    rows = _rows(summary_table(findings))
    assert ["CPU per 1,000 input events, 1 process(es)", "0.220 CPU-s", "", ""] in rows
    assert ["CPU per 1,000 input events, 2 process(es)", "0.308 CPU-s", "", ""] in rows
    assert ["CPU per event, 2 processes / 1 process", "1.40x", "<= 1.3x", "NOT met"] in rows
    out = tmp_path / "results.md"
    write_results(findings, out)
    header = next(row for row in _rows(out.read_text()) if row[0] == "processes")
    assert header[-2:] == ["CPU s (steady, sum)", "CPU s per 1,000 events"]
    assert ["1", "1", "50,000", "5,000", "4,167", "12.0", "1,000", "128", "10.0", "0.200"] in _rows(out.read_text())


def test_a_two_process_run_within_the_cpu_budget_meets_the_target():
    findings = _findings(ours=5_000, peer=2_000)
    findings.throughput = {1: [_throughput_run(1, 50_000, 10.0)], 2: [_throughput_run(2, 50_000, 12.0)]}
    assert ["CPU per event, 2 processes / 1 process", "1.20x", "<= 1.3x", "met"] in _rows(summary_table(findings))


def test_latency_at_200_and_at_1000_changes_a_second_fill_their_own_figures():
    findings = _findings(ours=5_000, peer=2_000)
    findings.live = [_latency_run(200.0, 120, 300), _latency_run(1000.0, 320, 780)]
    figures = summary_figures(findings, commit="abc123")
    assert (figures["availability_p50_ms_at_200"], figures["availability_p99_ms_at_200"]) == (120, 300)
    assert (figures["channel_p50_ms_at_200"], figures["channel_p99_ms_at_200"]) == (120, 300)
    assert (figures["availability_p50_ms_at_1000"], figures["channel_p99_ms_at_1000"]) == (320, 780)
    table = summary_table(findings)
    assert "commit -> atp.availability at 200/s" in table and "commit -> atp.availability at 1,000/s" in table


def test_long_measures_latency_at_200_and_1000_changes_a_second_by_default():
    args = build_parser().parse_args(["long"])
    assert args.rates == (200.0, 1000.0)
    assert build_parser().parse_args(["long", "--rates", "500"]).rates == (500.0,)


def _at_scale(keys: int, resume_s: float) -> ResumeAtScale:
    return ResumeAtScale(keys, 600.0, 2**28, 2**28 + 250 * keys, 2**30, resume_s)


def test_resume_and_rss_per_key_at_1m_keys_in_process_fill_their_figures_and_rows(tmp_path):
    findings = _findings(ours=5_000, peer=2_000)
    findings.at_scale = _at_scale(1_038_400, 7.5)
    figures = summary_figures(findings, commit="abc123")
    assert figures["resume_s_1m_keys"] == 7.5
    assert figures["rss_bytes_per_key_1m_keys"] == 250.0
    rows = _rows(summary_table(findings))
    rss_row = ["RSS per SKU-location key, in process (1,038,400 keys)", "250 bytes", "<= 300 bytes at 1M keys", "met"]
    assert rss_row in rows
    assert ["resume after SIGKILL, in process (1,038,400 keys)", "7.5 s", "<= 10 s with 1M keys", "met"] in rows
    out = tmp_path / "results.md"
    write_results(findings, out)
    text = out.read_text()
    assert "## c, d at 1M keys: RSS per key and resume after SIGKILL, in process" in text
    assert ["resume after SIGKILL to the fresh change's record", "**7.5 s** (target <= 10 s)"] in _rows(text)


def test_fewer_than_1m_keys_in_process_give_no_1m_figures_and_no_verdict():
    findings = _findings(ours=5_000, peer=2_000)
    findings.at_scale = _at_scale(106_150, 1.6)
    figures = summary_figures(findings, commit="abc123")
    assert figures["resume_s_1m_keys"] is None and figures["rss_bytes_per_key_1m_keys"] is None
    rows = _rows(summary_table(findings))
    resume_row = ["resume after SIGKILL, in process (106,150 keys)", "1.6 s", "<= 10 s with 1M keys", "not comparable"]
    assert resume_row in rows


def test_the_resume_profile_puts_its_figures_beside_the_long_runs_in_results_json(tmp_path):
    out = tmp_path / "results.json"
    out.write_bytes(orjson.dumps({"throughput_eps_1proc": 5_000.0, "resume_s_1m_keys": None}))
    merge_at_scale(_at_scale(1_038_400, 7.5), out)
    figures = orjson.loads(out.read_bytes())
    assert figures["throughput_eps_1proc"] == 5_000.0
    assert (figures["resume_s_1m_keys"], figures["rss_bytes_per_key_1m_keys"]) == (7.5, 250.0)
    assert figures["at_scale"]["keys"] == 1_038_400


def test_the_resume_profile_takes_1m_keys_by_default():
    assert build_parser().parse_args(["resume"]).items * 22 >= 1_000_000


def test_a_long_run_keeps_the_1m_key_figures_of_the_last_resume_profile(tmp_path):
    out = tmp_path / "results.json"
    merge_at_scale(_at_scale(1_038_400, 7.5), out)
    write_results_json(_findings(ours=5_000, peer=2_000), out, commit="abc123")
    figures = orjson.loads(out.read_bytes())
    assert figures["commit"] == "abc123" and figures["peer_ratio"] == 2.5
    assert (figures["resume_s_1m_keys"], figures["at_scale"]["keys"]) == (7.5, 1_038_400)


def test_a_long_run_that_shows_the_last_resume_profile_still_keeps_its_figures_in_results_json(tmp_path):
    from bench.results_json import last_at_scale

    out = tmp_path / "results.json"
    merge_at_scale(_at_scale(1_038_400, 7.5), out)
    findings = _findings(ours=5_000, peer=2_000)
    last = last_at_scale(out)
    assert last is not None
    findings.at_scale, findings.at_scale_from = last  # as bench long reads them, to show them in results.md
    write_results_json(findings, out, commit="abc123")
    figures = orjson.loads(out.read_bytes())
    assert (figures["resume_s_1m_keys"], figures["at_scale"]["keys"]) == (7.5, 1_038_400)
