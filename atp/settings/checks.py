"""Settings that are each valid alone but do not fit together: one line naming the variable."""

from __future__ import annotations

from urllib.parse import urlsplit

from atp.errors import ConfigError
from atp.settings.parts import Settings


def check_together(settings: Settings) -> None:
    """Settings that are each valid but do not fit together; raises a one-line ConfigError naming the variable."""
    _check_kafka(settings)
    if settings.store.clickhouse_url is not None:
        problem = url_problem(settings.store.clickhouse_url)
        if problem:
            raise ConfigError(f"ATP_CLICKHOUSE_URL: {problem}")
    problem = cluster_port_problem(settings)
    if problem:
        raise ConfigError(f"ATP_CLUSTER_PORT: {problem}")
    configured = set(settings.channels.channels)
    for variable, named in (
        ("ATP_CHANNEL_BUFFERS", settings.channels.buffers),
        ("ATP_CHANNEL_FULFILMENT", settings.channels.fulfilment),
        ("ATP_CHANNEL_PROMOTABLE_MIN", settings.channels.promotable_min),
        ("ATP_WEBHOOKS", settings.webhooks.endpoints),
    ):
        unknown = sorted(set(named) - configured)
        if unknown:
            raise ConfigError(f"{variable}: {', '.join(unknown)} not in ATP_CHANNELS ({', '.join(sorted(configured))})")


def _check_kafka(settings: Settings) -> None:
    kafka, stack = settings.kafka, settings.stack
    local_ca = stack.tls_dir / "ca.pem"  # made by `atp up`, so it may not exist yet
    local = kafka.bootstrap_servers in {
        f"127.0.0.1:{port}" for port in (stack.kafka_port, stack.kafka_sasl_port, stack.kafka_ssl_port)
    }
    if kafka.security_protocol == "SSL" and local:
        raise ConfigError(
            "ATP_KAFKA_SECURITY_PROTOCOL: the local broker offers SASL_SSL, SASL_PLAINTEXT or PLAINTEXT, not SSL alone"
        )
    no_password = not kafka.sasl_password.get_secret_value() and kafka.sasl_password_file is None
    if kafka.security_protocol.startswith("SASL") and no_password:
        raise ConfigError(
            f"ATP_KAFKA_SASL_PASSWORD: required with ATP_KAFKA_SECURITY_PROTOCOL={kafka.security_protocol} "
            "and a cluster other than the local broker"
        )
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        ca_file = kafka.ssl_ca_file
        if ca_file is None:
            raise ConfigError(
                f"ATP_KAFKA_SSL_CA_FILE: required with ATP_KAFKA_SECURITY_PROTOCOL={kafka.security_protocol}"
            )
        if ca_file != local_ca and not ca_file.is_file():
            raise ConfigError(f"ATP_KAFKA_SSL_CA_FILE: {ca_file} is not a file")


def url_problem(url: str) -> str:
    """What is wrong with a ClickHouse server URL, or '' (http[s]://[user[:password]@]host[:port][/])."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"not a URL ({exc})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not parts.hostname:
        return "has no host"
    if port is not None and not 1 <= port <= 65535:
        return f"port {port} out of range"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must name only the server (http://user:password@host:8123)"
    return ""


def cluster_port_problem(settings: Settings) -> str:
    """What is wrong with the cluster's ports (``ATP_CLUSTER_PORT`` + k for each of ``ATP_PROCESSES``), or ''.

    Each process also serves metrics on ``ATP_FLOW_METRICS_PORT`` + k: the two ranges, the supervisor's
    metrics and the store endpoint must not meet, or a process of the cluster fails to start, over and over.
    One process alone is not a cluster and opens no cluster port.
    """
    dataflow = settings.dataflow
    if dataflow.processes == 1:
        return ""  # one process opens no cluster port
    cluster = range(dataflow.cluster_port, dataflow.cluster_port + dataflow.processes)
    if cluster.stop - 1 > 65535:
        return f"{dataflow.processes} processes from port {dataflow.cluster_port} go past 65535"
    pipeline_metrics, store = settings.stack.pipeline_metrics_port, settings.store.store_port
    taken = {
        "ATP_PIPELINE_METRICS_PORT": range(pipeline_metrics, pipeline_metrics + 1),
        "ATP_STORE_PORT": range(store, store + 1),
        "ATP_API_PORT": range(settings.api.port, settings.api.port + 1),
    }
    if dataflow.flow_metrics_port:
        first = dataflow.flow_metrics_port
        taken["ATP_FLOW_METRICS_PORT"] = range(first, first + dataflow.processes)
    for variable, ports in taken.items():
        shared = sorted(set(cluster) & set(ports))
        if shared:
            return (
                f"ports {cluster.start}-{cluster.stop - 1} of the {dataflow.processes}-process cluster "
                f"meet {variable} (port {shared[0]})"
            )
    return ""
