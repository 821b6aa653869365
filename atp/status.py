"""``atp status``: is every service healthy, are the connectors running, is every process of the dataflow's
cluster alive, how far behind is the pipeline, and (from the dataflow's metrics endpoints) how fresh its
records are."""

from __future__ import annotations

from collections.abc import Callable

from atp.settings import Settings

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
    ports = flow_metrics_ports(settings)
    if pid:
        print_processes(settings, out)

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
        print_flow_metrics(ports, out)


# -- the processes of the dataflow's cluster ----------------------------------------------------------


def flow_metrics_ports(settings: Settings) -> list[int]:
    """The metrics port of every dataflow process: of the cluster running now, else as the settings say."""
    from atp.cluster import read_members

    members = read_members(settings.stack)
    ports = [m.metrics_port for m in members] or [
        settings.dataflow.metrics_port(k) for k in range(settings.dataflow.processes)
    ]
    return [port for port in ports if port]


def cluster_samples(ports: list[int]) -> Samples | None:
    """Every sample of every process that answers (None if none does); sums over them are the cluster's."""
    answers = [samples for samples in (scrape(port) for port in ports) if samples is not None]
    return [sample for samples in answers for sample in samples] if answers else None


def process_figures(samples: Samples) -> tuple[int, int, int]:
    """(lag, SKUs, active holds) one dataflow process reports: the lag of the input partitions it reads."""
    lag = sum(v for n, labels, v in samples if n == "atp_consumer_lag" and labels.get("consumer") == "dataflow")
    skus = sum(v for n, labels, v in samples if n == "atp_keys_in_state" and labels.get("step") == "availability")
    holds = sum(v for n, _, v in samples if n == "atp_active_holds")
    return int(lag), int(skus), int(holds)


def print_processes(settings: Settings, out: Progress) -> None:
    """One line per process of the dataflow's cluster: pid, alive, metrics port and what it reports."""
    from atp.cluster import alive, read_members

    members = read_members(settings.stack)
    if not members:
        out("  DOWN dataflow: no process started yet (see the log)")
        return
    out(f"  dataflow: {len(members)} process(es), one Bytewax cluster")
    for member in members:
        up = alive(member.pid)
        where = f"metrics 127.0.0.1:{member.metrics_port}" if member.metrics_port else "metrics off"
        line = f"  {'ok  ' if up else 'DOWN'} process {member.process:<2} pid {member.pid:<8} {where}"
        samples = scrape(member.metrics_port) if up else None
        if samples is not None:
            lag, skus, holds = process_figures(samples)
            line += f"  lag {lag:>7}  SKUs {skus:>7}  holds {holds:>5}"
        elif up and member.metrics_port:
            line += "  (metrics not answering yet)"
        out(line)


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
    # Samples of several processes of a cluster add up, bucket by bucket.
    counts: dict[tuple[str, str], dict[float, float]] = {}
    for name, labels, value in samples:
        if name == "atp_end_to_end_latency_seconds_bucket":
            by_bound = counts.setdefault((labels["topic"], labels["source"]), {})
            bound = float(labels["le"])
            by_bound[bound] = by_bound.get(bound, 0.0) + value
    rows = []
    for (topic, source), added in sorted(counts.items()):
        series = list(added.items())
        count = int(max(c for _, c in series))
        rows.append((topic, source, count, [quantile(q, series) for q in (0.5, 0.95, 0.99)]))
    return rows


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.0f}ms"


def print_flow_metrics(ports: list[int], out: Progress) -> None:
    """What the dataflow's processes say, added up over every process of the cluster that answers."""
    samples = cluster_samples(ports)
    if samples is None:
        out(f"dataflow metrics: nothing answers on 127.0.0.1:{', '.join(str(port) for port in ports)}")
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
    skus, holds, keys = cluster_state(samples)
    out(f"state: {skus} SKUs, {holds} active holds, {keys} keys in all steps")


def cluster_state(samples: Samples) -> tuple[int, int, int]:
    """(SKUs, active holds, keys in all steps) of the cluster: each process holds its own share, so they add up."""
    skus = sum(v for n, labels, v in samples if n == "atp_keys_in_state" and labels.get("step") == "availability")
    holds = sum(v for n, _, v in samples if n == "atp_active_holds")
    keys = sum(v for n, _, v in samples if n == "atp_keys_in_state")
    return int(skus), int(holds), int(keys)
