"""The bench's own stack: its own ATP_HOME and ports, so the demo (.atp) and the tests (.atp/test) are never touched."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from atp.settings import PROJECT_ROOT, Settings, load_settings

# ATP_BENCH_HOME: run the bench from a pinned copy of the code (git archive) against this checkout's stack.
BENCH_HOME = Path(os.environ.get("ATP_BENCH_HOME", str(PROJECT_ROOT / ".atp" / "bench")))
BENCH_ENVIRONMENT = {
    "ATP_HOME": str(BENCH_HOME),
    "ATP_KAFKA_PORT": "39092",
    "ATP_KAFKA_CONTROLLER_PORT": "39093",
    "ATP_KAFKA_SASL_PORT": "39094",
    "ATP_KAFKA_SSL_PORT": "39095",
    "ATP_CONNECT_PORT": "38083",
    "ATP_REGISTRY_PORT": "38081",
    "ATP_REGISTRY_MANAGEMENT_PORT": "38091",
    "ATP_POSTGRES_PORT": "35432",
    "ATP_MARIADB_PORT": "33306",
    "ATP_STORE_PORT": "38124",
    "ATP_API_PORT": "38180",
    "ATP_FLOW_METRICS_PORT": "38100",
    "ATP_PIPELINE_METRICS_PORT": "38099",
}
# Bytewax cluster addresses of a 2-process run (in the bench's own port range).
CLUSTER_ADDRESSES = "127.0.0.1:32101;127.0.0.1:32102"
RUNS_DIR = PROJECT_ROOT / "bench" / "runs"


def bench_settings() -> Settings:
    """Settings of the bench stack; child processes (the dataflow) inherit the same environment."""
    os.environ.update(BENCH_ENVIRONMENT)
    return load_settings()


def atp_command(*args: str) -> None:
    """Run ``atp <args>`` against the bench stack (raises if it fails)."""
    bench_settings()
    subprocess.run([sys.executable, "-m", "atp.cli", *args], check=True, cwd=PROJECT_ROOT)


def python_bin() -> Path:
    return Path(sys.executable)
