"""``bench/results.json``: the summary figures of a long run, machine-readable (one key per figure; null where
the run did not measure it)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import orjson

from atp.settings import PROJECT_ROOT
from bench.findings import Findings, cpu_per_kevent
from bench.latency import LatencyRun
from bench.stats import median


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _live_at(findings: Findings, rate: float) -> LatencyRun | None:
    return next((run for run in findings.live if run.target_rate == rate), None)


def _throughput(findings: Findings, processes: int) -> float | None:
    runs = findings.throughput.get(processes)
    return median([run.result.steady_rate for run in runs]) if runs else None


def summary_figures(findings: Findings, commit: str | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "commit": commit or _commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "started": findings.started,
        "throughput_eps_1proc": _throughput(findings, 1),
        "throughput_eps_2proc": _throughput(findings, 2),
        "throughput_eps_inprocess": findings.inprocess.events_per_s if findings.inprocess else None,
        "us_per_event_inprocess": (
            findings.inprocess.wall_s * 1e6 / findings.inprocess.events if findings.inprocess else None
        ),
        "stages_us_per_event_inprocess": (
            {stage: round(findings.inprocess.us_per_event(stage), 2) for stage in findings.inprocess.share}
            if findings.inprocess
            else None
        ),
        "cpu_per_kevent_1proc_s": cpu_per_kevent(findings, 1),
        "cpu_per_kevent_2proc_s": cpu_per_kevent(findings, 2),
        "rss_bytes_per_key": findings.memory.bytes_per_key if findings.memory else None,
        "resume_s_1m_keys": (
            findings.resume.seconds_to_fresh_output if findings.resume and findings.resume.keys >= 900_000 else None
        ),
        "peer_ratio": findings.peer.ratio if findings.peer else None,
    }
    for rate in (200.0, 1000.0):
        run = _live_at(findings, rate)
        label = f"{rate:.0f}"
        figures[f"availability_p50_ms_at_{label}"] = run.availability.p50_ms if run else None
        figures[f"availability_p99_ms_at_{label}"] = run.availability.p99_ms if run else None
        figures[f"channel_p50_ms_at_{label}"] = run.channel.p50_ms if run else None
        figures[f"channel_p99_ms_at_{label}"] = run.channel.p99_ms if run else None
    return figures


def write_results_json(findings: Findings, out: Path, commit: str | None = None) -> None:
    out.write_bytes(orjson.dumps(summary_figures(findings, commit), option=orjson.OPT_INDENT_2) + b"\n")
