"""The availability dataflow as ``flows.availability:flow`` builds it, less the in-process lag reporter.

Why: since commit 836216f the flow process starts ``connectors.lag.LagReporter``, which every 5 s opens the
live Bytewax recovery files with Python's ``sqlite3`` while Bytewax's own (Rust, bundled) SQLite writes
them in the same process. Two SQLite libraries in one process break each other's POSIX locks (closing a
file descriptor drops every lock the process holds on that file): on this machine the flow died within
about 90 s of a load, with ``SqliteFailure ... locking protocol`` or SIGBUS. Commit 04c9b25 fixed that in
``flows/`` (the reporter now reads the input ledger), so the bench runs the project's entry point again;
this one stays for comparing runs made before the fix: ``ATP_BENCH_FLOW=no-lag-reporter``.
"""

from __future__ import annotations

from typing import Any

from bytewax.dataflow import Dataflow


def _build() -> Dataflow:
    from atp import metrics
    from atp.log_format import configure_logging
    from atp.settings import load_settings
    from flows import availability

    settings = load_settings()
    configure_logging()
    process, _clustered = availability._cluster_process()
    metrics.serve(settings.flow_metrics_port + process if settings.flow_metrics_port else 0, "dataflow")
    return availability.build_flow(settings)


def __getattr__(name: str) -> Any:
    if name == "flow":
        return _build()
    raise AttributeError(name)
