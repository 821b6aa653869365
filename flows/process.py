"""The dataflow process: settings, logging, metrics and the lag reporter around the flow ``build_flow`` makes."""

from __future__ import annotations

import gc

from bytewax.dataflow import Dataflow

from atp.settings import load_settings
from flows.availability import INPUT_TOPICS, build_flow
from flows.steps import LEDGER_POSITIONS


def _cluster_process() -> tuple[int, bool]:
    """This process's index in a Bytewax cluster (``-i``/``--process-id``), and whether it is in one (``-a``)."""
    import os
    import sys

    args = sys.argv[1:]
    index = int(os.environ.get("BYTEWAX_PROCESS_ID", "0"))
    for flag in ("-i", "--process-id"):
        if flag in args and args.index(flag) + 1 < len(args):
            index = int(args[args.index(flag) + 1])
    clustered = "-a" in args or "--addresses" in args or bool(os.environ.get("BYTEWAX_ADDRESSES"))
    return index, clustered


def _tune_garbage_collector() -> None:
    """Make CPython's cycle collector rare in the dataflow process.

    The engine's state is plain data without reference cycles, yet every key woken from its pickle
    allocates hundreds of containers, and the collector (by default after every 700 net allocations)
    then walks the young objects: 19% of the flow's time in a profile with recovery on (bench/results.md).
    ``freeze`` moves what start-up imported out of its reach; the higher first threshold makes young
    collections rare. Garbage without cycles is still freed at once by reference counting.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def flow_from_environment() -> Dataflow:
    """The flow for this process, from the environment's settings, with its metrics and lag reporter running."""
    from atp import metrics
    from atp.log_format import configure_logging
    from connectors.lag import LagReporter

    settings = load_settings()
    _tune_garbage_collector()
    configure_logging()
    process, clustered = _cluster_process()
    flow_metrics_port = settings.dataflow.flow_metrics_port
    metrics.serve(flow_metrics_port + process if flow_metrics_port else 0, "dataflow")

    # Positions come from the input ledger (restored with the state on resume), never from the recovery files:
    # opening Bytewax's live SQLite files with Python's own SQLite library in the same process breaks their locks.
    # A partition the ledger has not seen is read from its start, so its lag is all of it. In a cluster each
    # process reports only the partitions it reads (Bytewax assigns them; the ledger learns which).
    LagReporter(settings.kafka, "dataflow", INPUT_TOPICS, lambda: dict(LEDGER_POSITIONS), only_known=clustered).start()
    return build_flow(settings)
