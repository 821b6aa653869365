"""``atp status``: is every service healthy, are the connectors running, how far behind is the pipeline,
and (from the dataflow's metrics endpoint) how fresh its records are."""

from __future__ import annotations

from collections.abc import Callable

from atp.settings import DataflowSettings, Settings

Progress = Callable[[str], None]


def print_status(settings: Settings, out: Progress) -> None:
    from atp.pipeline import pipeline_log, running_pid
    from connectors import lag, topics
    from connectors.store_loader import LOADER_GROUP, tables_by_topic
    from infra import stack

    out("services")
    statuses = stack.status(settings.stack, settings.kafka)
    for service in statuses:
        mark = "ok  " if service.healthy else "DOWN"
        out(f"  {mark} {service.name:<10} {service.detail}")
    healthy = {s.name for s in statuses if s.healthy}

    if "connect" in healthy:
        from connectors.cdc_connectors import connector_states

        out("connectors")
        for name, state in connector_states(settings.stack).items():
            out(f"  {'ok  ' if state == 'RUNNING' else 'WARN'} {name:<10} {state}")

    pid = running_pid(settings.stack)
    out("pipeline")
    state = f"pid {pid}" if pid else "not running"
    out(f"  {'ok  ' if pid else 'DOWN'} dataflow+loader {state} (log {pipeline_log(settings.stack)})")

    if "kafka" not in healthy:
        return
    out("lag (messages not yet processed)")
    flow = lag.lag_by_topic(
        settings.kafka, "dataflow", topics.INPUT_TOPICS, lag.flow_positions(settings.dataflow.recovery_dir)
    )
    loader_topics = tuple(tables_by_topic(settings.channels))  # the topics the loader reads
    loader = lag.lag_by_topic(
        settings.kafka, "loader", loader_topics, lag.group_positions(settings.kafka, LOADER_GROUP, loader_topics)
    )
    for entry in flow + loader:
        out(f"  {entry.consumer:<9} {entry.topic:<28} {entry.lag:>9}")
    if pid:
        print_flow_metrics(settings.dataflow, out)


# -- what the pipeline's own metrics say ----------------------------------------------------------

Samples = list[tuple[str, dict[str, str], float]]


def scrape(port: int, timeout_s: float = 5.0) -> Samples | None:
    """Every sample a metrics endpoint on 127.0.0.1 serves, or None if nothing answers there."""
    import urllib.error
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    if port == 0:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout_s) as reply:  # noqa: S310
            text = reply.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    families = text_string_to_metric_families(text)
    return [(sample.name, dict(sample.labels), sample.value) for family in families for sample in family.samples]


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """The q-quantile of a cumulative histogram (upper bound, count), interpolated inside the bucket it falls
    in, like PromQL's ``histogram_quantile``; None without observations."""
    buckets = sorted(buckets)
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound  # beyond the last finite bucket: say the least it is
            inside = count - lower_count
            return lower_bound + (bound - lower_bound) * ((rank - lower_count) / inside if inside else 1.0)
        lower_bound, lower_count = bound, count
    return lower_bound


def latency_rows(samples: Samples) -> list[tuple[str, str, int, list[float | None]]]:
    """(topic, source, count, [p50, p95, p99]) of the end-to-end latency histogram, per topic and source."""
    buckets: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for name, labels, value in samples:
        if name == "atp_end_to_end_latency_seconds_bucket":
            key = (labels["topic"], labels["source"])
            buckets.setdefault(key, []).append((float(labels["le"]), value))
    rows = []
    for (topic, source), series in sorted(buckets.items()):
        count = int(max(c for _, c in series))
        rows.append((topic, source, count, [quantile(q, series) for q in (0.5, 0.95, 0.99)]))
    return rows


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}ms"


def print_flow_metrics(dataflow: DataflowSettings, out: Progress) -> None:
    samples = scrape(dataflow.flow_metrics_port)
    if samples is None:
        out(f"dataflow metrics: nothing answers on 127.0.0.1:{dataflow.flow_metrics_port}")
        return
    out("latency, source commit -> record acknowledged by Kafka (since the dataflow started)")
    out(f"  {'topic':<28} {'source':<13} {'records':>8} {'p50':>7} {'p95':>7} {'p99':>7}")
    for topic, source, count, (p50, p95, p99) in latency_rows(samples):
        out(f"  {topic:<28} {source:<13} {count:>8} {_ms(p50):>7} {_ms(p95):>7} {_ms(p99):>7}")
    accounted: dict[str, dict[str, float]] = {}
    for name, labels, value in samples:
        if name == "atp_inputs_accounted":
            outcomes = accounted.setdefault(labels["topic"], {})
            outcomes[labels["outcome"]] = outcomes.get(labels["outcome"], 0) + value
    out("inputs (each counted once, since the first offset)")
    for topic, outcomes in sorted(accounted.items()):
        used, dead = int(outcomes.get("used", 0)), int(outcomes.get("dead_lettered", 0))
        out(f"  {topic:<28} used {used:>9}  dead-lettered {dead:>6}")
    holds = sum(v for n, _, v in samples if n == "atp_active_holds")
    keys = {labels["step"]: int(v) for n, labels, v in samples if n == "atp_keys_in_state"}
    out(f"state: {keys.get('availability', 0)} SKUs, {int(holds)} active holds, {sum(keys.values())} keys in all steps")
