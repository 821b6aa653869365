"""Settings that are each valid alone but do not fit together: one line naming the variable."""

from __future__ import annotations

from urllib.parse import urlsplit

from atp.errors import ConfigError
from atp.settings.parts import Settings


def check_together(settings: Settings) -> None:
    """Settings that are each valid but do not fit together; raises a one-line ConfigError naming the variable."""
    kafka = settings.kafka
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        ca_file = kafka.ssl_ca_file
        if ca_file is None:
            raise ConfigError(
                f"ATP_KAFKA_SSL_CA_FILE: required with ATP_KAFKA_SECURITY_PROTOCOL={kafka.security_protocol}"
            )
        if not ca_file.is_file():
            raise ConfigError(f"ATP_KAFKA_SSL_CA_FILE: {ca_file} is not a file")
    if settings.store.clickhouse_url is not None:
        problem = url_problem(settings.store.clickhouse_url)
        if problem:
            raise ConfigError(f"ATP_CLICKHOUSE_URL: {problem}")
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
