"""``bench/results.json``: the summary figures of a long run, machine-readable (one key per figure; null where
the run did not measure it)."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import orjson

from atp.settings import PROJECT_ROOT
from bench.epoch_cost import EPOCH_FIGURES
from bench.epoch_cost import figures as epoch_figures
from bench.findings import Findings, cpu_per_kevent, throughput_eps
from bench.latency import LatencyRun
from bench.resume import ResumeAtScale


def _commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else "unknown"


def _live_at(findings: Findings, rate: float) -> LatencyRun | None:
    return next((run for run in findings.live if run.target_rate == rate), None)


AT_SCALE_KEYS = 900_000  # "1M keys" figures need at least this many keys in state


def _resume_at_1m_keys(findings: Findings) -> float | None:
    """Resume after SIGKILL with 1M keys: the Kafka run's if it loaded that many, else the in-process one's."""
    if findings.resume and findings.resume.keys >= AT_SCALE_KEYS:
        return findings.resume.seconds_to_fresh_output
    if findings.at_scale and findings.at_scale.keys >= AT_SCALE_KEYS:
        return findings.at_scale.seconds_to_fresh_output
    return None


def summary_figures(findings: Findings, commit: str | None = None) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "commit": commit or _commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "started": findings.started,
        "throughput_eps_1proc": throughput_eps(findings, 1),
        "throughput_eps_2proc": throughput_eps(findings, 2),
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
        "resume_s_1m_keys": _resume_at_1m_keys(findings),
        "rss_bytes_per_key_1m_keys": (
            findings.at_scale.bytes_per_key if findings.at_scale and findings.at_scale.keys >= AT_SCALE_KEYS else None
        ),
        "peer_ratio": findings.peer.ratio if findings.peer else None,
        # The lookup API in process at 1,000 requests/s (bench.api_load).
        "api_p50_ms": findings.api.latency.p50_ms if findings.api else None,
        "api_p95_ms": findings.api.latency.p95_ms if findings.api else None,
        "api_p99_ms": findings.api.latency.p99_ms if findings.api else None,
        # What an epoch close costs with recovery on (bench.epoch_cost, section i).
        **(epoch_figures(findings.epoch_cost) if findings.epoch_cost else dict.fromkeys(EPOCH_FIGURES)),
    }
    for rate in (200.0, 1000.0):
        run = _live_at(findings, rate)
        label = f"{rate:.0f}"
        figures[f"availability_p50_ms_at_{label}"] = run.availability.p50_ms if run else None
        figures[f"availability_p99_ms_at_{label}"] = run.availability.p99_ms if run else None
        figures[f"channel_p50_ms_at_{label}"] = run.channel.p50_ms if run else None
        figures[f"channel_p99_ms_at_{label}"] = run.channel.p99_ms if run else None
    return figures


AT_SCALE_FIGURES = ("resume_s_1m_keys", "rss_bytes_per_key_1m_keys", "at_scale")


def write_results_json(findings: Findings, out: Path, commit: str | None = None) -> None:
    figures = summary_figures(findings, commit)
    previous: dict[str, Any] = orjson.loads(out.read_bytes()) if out.exists() else {}
    if "at_scale" in previous:
        # The 1M-key figures come from `python -m bench resume`, not from this run (which shows them, read from
        # here): keep the last ones, with their own commit and date in "at_scale".
        for key in AT_SCALE_FIGURES:
            if figures.get(key) is None:
                figures[key] = previous.get(key)
    out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2) + b"\n")


def merge_at_scale(found: ResumeAtScale, out: Path) -> None:
    """Put the 1M-key figures of ``python -m bench resume`` into ``out`` beside the last long run's."""
    figures: dict[str, Any] = orjson.loads(out.read_bytes()) if out.exists() else {}
    at_1m = found.keys >= AT_SCALE_KEYS
    figures["resume_s_1m_keys"] = found.seconds_to_fresh_output if at_1m else None
    figures["rss_bytes_per_key_1m_keys"] = found.bytes_per_key if at_1m else None
    figures["at_scale"] = {
        "commit": _commit(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "keys": found.keys,
        "load_s": found.load_seconds,
        "rss_bytes_per_key": found.bytes_per_key,
        "recovery_bytes": found.recovery_bytes,
        "rss_before_bytes": found.rss_before_bytes,
        "rss_after_bytes": found.rss_after_bytes,
        "resume_s": found.seconds_to_fresh_output,
        "how": "python -m bench resume: the flow in process over the testing source, recovery on, SIGKILL",
    }
    out.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2) + b"\n")


def last_at_scale(out: Path) -> tuple[ResumeAtScale, str] | None:
    """The 1M-key figures ``python -m bench resume`` last put into ``out``, and which commit and day they are of;
    None when there are none (or they predate the RSS figures it keeps)."""
    if not out.exists():
        return None
    found = orjson.loads(out.read_bytes()).get("at_scale") or {}
    try:
        figures = ResumeAtScale(
            keys=int(found["keys"]),
            load_seconds=float(found["load_s"]),
            rss_before_bytes=int(found["rss_before_bytes"]),
            rss_after_bytes=int(found["rss_after_bytes"]),
            recovery_bytes=int(found["recovery_bytes"]),
            seconds_to_fresh_output=float(found["resume_s"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    return figures, f"commit {str(found.get('commit', '?'))[:7]}, {found.get('date', '?')}"
