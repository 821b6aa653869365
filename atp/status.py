"""``atp status``: is every service healthy, are the connectors running, how far behind is the pipeline."""

from __future__ import annotations

from collections.abc import Callable

from atp.settings import Settings

Progress = Callable[[str], None]


def print_status(settings: Settings, out: Progress) -> None:
    from atp.pipeline import pipeline_log, running_pid
    from connectors import lag, topics
    from connectors.cdc.decode import CDC_TOPICS
    from connectors.store_loader import LOADER_GROUP
    from infra import stack

    out("services")
    statuses = stack.status(settings)
    for service in statuses:
        mark = "ok  " if service.healthy else "DOWN"
        out(f"  {mark} {service.name:<10} {service.detail}")
    healthy = {s.name for s in statuses if s.healthy}

    if "connect" in healthy:
        from connectors.cdc_connectors import connector_states

        out("connectors")
        for name, state in connector_states(settings).items():
            out(f"  {'ok  ' if state == 'RUNNING' else 'WARN'} {name:<10} {state}")

    pid = running_pid(settings)
    out("pipeline")
    state = f"pid {pid}" if pid else "not running"
    out(f"  {'ok  ' if pid else 'DOWN'} dataflow+loader {state} (log {pipeline_log(settings)})")

    if "kafka" not in healthy:
        return
    out("lag (messages not yet processed)")
    flow = lag.lag_by_topic(
        settings, "dataflow", (*CDC_TOPICS, *topics.EVENT_INPUTS), lag.flow_positions(settings.recovery_dir)
    )
    loader_topics = topics.output_topics(settings)
    loader = lag.lag_by_topic(
        settings, "loader", loader_topics, lag.group_positions(settings, LOADER_GROUP, loader_topics)
    )
    for entry in flow + loader:
        out(f"  {entry.consumer:<9} {entry.topic:<28} {entry.lag:>9}")
