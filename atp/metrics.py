"""Prometheus metrics: what SREs watch and page on.

Two kinds of process serve them, each on 127.0.0.1 at ``/metrics``:

- every dataflow process (``ATP_FLOW_METRICS_PORT``; process *k* of a Bytewax cluster
  on that port + *k*): inputs read and how each ended, dead letters, emitted records,
  end-to-end latency, consumer lag per partition, keys in state, active holds, timers;
- the supervisor of ``atp run`` (``ATP_PIPELINE_METRICS_PORT``): ClickHouse writes,
  webhook deliveries, the connectors' states and the loader's and webhooks' lag.

The metric names are a contract with ``infra/observability/`` (the Grafana dashboard
and the Prometheus alert rules); ``tests/unit/test_observability.py`` checks that
every name those files use is defined here, and an integration test that the running
pipeline exports it.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Gauge, Histogram, start_http_server

log = logging.getLogger("atp.metrics")

# -- the dataflow ---------------------------------------------------------------------------------

INPUT_EVENTS = Counter("atp_input_events", "Input messages read by the dataflow, per source topic.", ["topic"])
INPUTS_ACCOUNTED = Gauge(
    "atp_inputs_accounted",
    "How the dataflow's inputs ended, per partition: used or dead_lettered. Kept in the dataflow's recovered "
    "state, so across restarts each input offset is counted exactly once (inputs = used + dead-lettered).",
    ["topic", "partition", "outcome"],
)
DEAD_LETTERS = Counter(
    "atp_dead_letters", "Inputs sent to atp.dlq, by reason and source topic.", ["reason", "source_topic"]
)
EMITTED_RECORDS = Counter(
    "atp_emitted_records", "Records the dataflow published, acknowledged by Kafka, per topic.", ["topic"]
)
# Buckets around the 100 ms target; MariaDB's binlog stamps whole seconds, so source="erp" reads up to 1 s high.
END_TO_END_LATENCY = Histogram(
    "atp_end_to_end_latency_seconds",
    "From the source commit (or a timer's deadline) to the record acknowledged by Kafka, per output topic and "
    "source (erp, pos, reservations, timer, reconcile).",
    ["topic", "source"],
    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0),
)
CONSUMER_LAG = Gauge(
    "atp_consumer_lag",
    "Messages not yet processed, per consumer (dataflow, store-loader, webhooks), topic and partition.",
    ["consumer", "topic", "partition"],
)
KEYS_IN_STATE = Gauge("atp_keys_in_state", "Keys held by each stateful step of the dataflow.", ["step"])
ACTIVE_HOLDS = Gauge("atp_active_holds", "Cart holds currently counting in `reserved` (not lapsed or released).")
TIMERS_PENDING = Gauge("atp_timers_pending", "Keys with a deadline armed (a timer pending), per step.", ["step"])

# -- the supervisor: store loader, webhooks, connectors ---------------------------------------------

STORE_WRITE_SECONDS = Histogram(
    "atp_store_write_seconds",
    "Time to insert one batch into ClickHouse, per table (retries included).",
    ["table"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
STORE_BATCH_ROWS = Histogram(
    "atp_store_batch_rows",
    "Rows per ClickHouse insert, per table.",
    ["table"],
    buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10000),
)
STORE_WRITE_ERRORS = Counter(
    "atp_store_write_errors", "ClickHouse inserts refused (and retried), per table.", ["table"]
)
WEBHOOK_DELIVERIES = Counter(
    "atp_webhook_deliveries",
    "Channel updates settled with a partner, per channel and outcome (delivered, dead_lettered).",
    ["channel", "outcome"],
)
WEBHOOK_RETRIES = Counter(
    "atp_webhook_retries",
    "Partner requests retried, per channel and reason (throttled, server_error, unreachable, unreadable).",
    ["channel", "reason"],
)
WEBHOOK_REJECTIONS = Counter(
    "atp_webhook_rejections",
    "Channel updates a partner's answer did not accept, per channel and reason class: refused (for good, "
    "dead-lettered), throttled, server_error, unreachable, unreadable (retried), not_applied (sent again "
    "without an update the partner refused in the same request).",
    ["channel", "reason"],
)
CONNECTOR_RUNNING = Gauge(
    "atp_connector_running", "1 while a Debezium connector and all its tasks are RUNNING, else 0.", ["connector"]
)


def serve(port: int, what: str) -> None:
    """Serve the registry on 127.0.0.1:``port`` (0: not at all). A port in use is logged, not fatal:
    metrics are for watching the pipeline, and must never be the reason it does not run."""
    if port == 0:
        return
    try:
        start_http_server(port, addr="127.0.0.1")
    except OSError as exc:
        log.error("%s metrics not served on 127.0.0.1:%d: %s", what, port, exc)
        return
    log.info("%s metrics on http://127.0.0.1:%d/metrics", what, port)
