"""The dataflow process, composed: the engine (``flows.availability``) with its adapters (the Kafka source
and sink, the input decoders) and its rules from settings; then logging, metrics and the lag reporter.

This is the composition root of the dataflow process (the application layer; tests/unit/test_layers.py):
the engine imports no adapter, the adapters no engine topology.
"""

from __future__ import annotations

import gc
from typing import Any

from bytewax.dataflow import Dataflow
from bytewax.inputs import Source
from bytewax.outputs import DynamicSink

from atp.rule_settings import flow_policy
from atp.settings import Settings, load_settings
from connectors.inputs import consumer_error, decode_input
from connectors.topics import INPUT_TOPICS
from flows.availability import FlowIO, OutputRecord, build_flow
from flows.keyed import Clock, wall_clock_ms
from flows.steps import LEDGER_POSITIONS


def availability_flow(
    settings: Settings,
    source: Source[Any] | None = None,
    sink: DynamicSink[OutputRecord] | None = None,
    clock: Clock = wall_clock_ms,
) -> Dataflow:
    """The availability dataflow on Kafka, as settings configure it; tests pass a testing source and sink."""
    if source is None:
        from connectors.kafka_config import client_config
        from connectors.kafka_source import AtpKafkaSource

        source = AtpKafkaSource(client_config(settings.kafka), list(INPUT_TOPICS), batch_size=1000)
    if sink is None:
        from connectors.kafka_sink import AtpKafkaSink

        sink = AtpKafkaSink(settings.kafka)
    io = FlowIO(source=source, sink=sink, decode=decode_input, consumer_error=consumer_error)
    return build_flow(flow_policy(settings), io, clock)


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
    metrics.serve(settings.dataflow.metrics_port(process), "dataflow")

    # Positions come from the input ledger (restored with the state on resume), never from the recovery files:
    # opening Bytewax's live SQLite files with Python's own SQLite library in the same process breaks their locks.
    # A partition the ledger has not seen is read from its start, so its lag is all of it. In a cluster each
    # process reports only the partitions it reads (Bytewax assigns them; the ledger learns which).
    LagReporter(settings.kafka, "dataflow", INPUT_TOPICS, lambda: dict(LEDGER_POSITIONS), only_known=clustered).start()
    return availability_flow(settings)
