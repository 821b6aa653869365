"""Figure f: the Quix Streams peer beside our flow, on the same topics of one broker, in the long run.

The commands are the ones `bench/quix_peer/RESULTS.md` lists, run in order: the peer's own
broker, the same pre-filled inputs for both engines, the check that both reach the same final
records, our flow over Kafka, and both engines live on the same paced changes. Each step writes
JSON into the bench's run directory, read back here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atp.errors import AtpError
from atp.settings import PROJECT_ROOT
from bench.quix_peer.compare import PEER_PYTHON
from bench.quix_peer.stack import BOOTSTRAP  # the peer's own broker

FILL = ["--items", "2000", "--dcs", "2", "--stores", "8", "--changes", "60000", "--reset"]
LIVE_RATES = (100, 200)


class PeerNotMeasured(AtpError):
    """A step of the peer comparison failed, or the peer's virtualenv is not installed."""


@dataclass(frozen=True)
class LiveLatency:
    rate: float
    engine: str
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    records: int


@dataclass(frozen=True)
class PeerFindings:
    inputs: int
    keys: int
    mismatched_keys: int
    peer_events_per_s: float
    ours_inprocess_events_per_s: float
    ours_kafka_events_per_s: float
    live: list[LiveLatency]

    @property
    def ratio(self) -> float:
        return self.ours_kafka_events_per_s / self.peer_events_per_s if self.peer_events_per_s else 0.0


def _step(args: list[str], say: Any, timeout_s: float = 1200) -> None:
    say(f"  peer: {' '.join(args[1:])}")
    # Without the bench stack's ATP_* settings: each peer command then applies the peer stack's own
    # (bench/quix_peer/stack.py), which it sets only where the environment has none.
    environment = {name: value for name, value in os.environ.items() if not name.startswith("ATP_")}
    done = subprocess.run(
        [sys.executable, "-m", *args[1:]] if args[0] == "ours" else args,
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s, env=environment,
    )  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise PeerNotMeasured(f"`{' '.join(args[1:4])}` exited {done.returncode}: {last[0]}")


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def measure(runs_dir: Path, say: Any) -> PeerFindings:
    if not PEER_PYTHON.exists():
        raise PeerNotMeasured(f"the peer's virtualenv {PEER_PYTHON} is missing (set-up: bench/quix_peer/RESULTS.md)")
    cmp_json, kafka_json = runs_dir / "peer-compare.json", runs_dir / "peer-ours-kafka.json"
    bootstrap = ["--bootstrap", BOOTSTRAP]
    _step(["ours", "bench.quix_peer.stack", "up"], say)
    try:
        _step(["ours", "bench.quix_peer.fill", *bootstrap, *FILL], say)
        _step(["ours", "bench.quix_peer.compare", *bootstrap, "--peer-no-align", "--json", str(cmp_json)], say)
        _step(["ours", "bench.quix_peer.stack", "registry-up"], say)
        _step(["ours", "bench.quix_peer.ours_kafka", *bootstrap, "--json", str(kafka_json)], say)
        live: list[LiveLatency] = []
        for rate in LIVE_RATES:
            out = runs_dir / f"peer-latency-{rate}.json"
            _step(["ours", "bench.quix_peer.latency", *bootstrap, "--rate", str(rate), "--seconds", "30",
                   "--catch-up", "45", "--peer-no-align", "--json", str(out)], say)  # fmt: skip
            live += [
                LiveLatency(rate, r["engine"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["max_ms"], r["records"])
                for r in _read(out)["results"]
            ]
    finally:
        _step(["ours", "bench.quix_peer.stack", "down"], say)
    compared, ours_kafka = _read(cmp_json), _read(kafka_json)
    return PeerFindings(
        inputs=compared["inputs"],
        keys=compared["keys_ours"],
        mismatched_keys=compared["mismatched_keys"] + ours_kafka["mismatched_keys"],
        peer_events_per_s=compared["peer"]["events_per_s"],
        ours_inprocess_events_per_s=compared["ours_inprocess_events_per_s"],
        ours_kafka_events_per_s=ours_kafka["events_per_s_whole_run"],
        live=live,
    )
