"""What SREs watch, on the real stack: the pipeline's metrics endpoints export every metric the dashboard and
the alert rules use, the latency histogram moves with a change at the source, every input is accounted for,
and `atp status` shows the latency percentiles."""

from __future__ import annotations

import re
import time
import urllib.request

import pytest

from atp.settings import Settings
from atp.status import print_status, scrape
from connectors.output_watch import TopicWatcher
from tests.integration.accounting import wait_until_every_input_is_accounted
from tests.integration.legacy_writes import DC, new_item, set_dc_stock
from tests.integration.outputs import next_record
from tests.unit.test_observability import alert_expressions, dashboard_expressions, used_metrics

pytestmark = pytest.mark.integration


def exported_by(port: int) -> set[str]:
    """Every name an endpoint exports, including families with no sample yet (a counter no label has hit)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    names = set()
    for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE):
        names.add(name)
        names |= {name + "_total"} if kind == "counter" else set()
        names |= {name + s for s in ("_bucket", "_sum", "_count")} if kind == "histogram" else set()
    return names


def latency_count(settings: Settings, topic: str) -> float:
    samples = scrape(settings.dataflow.flow_metrics_port) or []
    name = "atp_end_to_end_latency_seconds_count"
    return sum(value for n, labels, value in samples if n == name and labels["topic"] == topic)


def test_every_metric_the_dashboard_and_alerts_use_is_served_by_the_running_pipeline(pipeline: Settings):
    deadline = time.monotonic() + 30  # the supervisor's watchers report within seconds of starting
    while True:
        served = exported_by(pipeline.dataflow.flow_metrics_port) | exported_by(pipeline.stack.pipeline_metrics_port)
        missing = used_metrics(dashboard_expressions() + alert_expressions()) - served
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert missing == set()
    # Both Debezium connectors are watched, and running.
    samples = scrape(pipeline.stack.pipeline_metrics_port) or []
    running = {labels["connector"]: v for n, labels, v in samples if n == "atp_connector_running"}
    assert running == {"atp-erp": 1.0, "atp-pos": 1.0}


def test_a_source_change_is_timed_from_its_commit_to_the_topic(pipeline: Settings, availability: TopicWatcher):
    sku, _ = new_item(pipeline)
    before = latency_count(pipeline, "atp.availability")
    set_dc_stock(pipeline, sku, 17)
    next_record(availability, f"{sku}@{DC}", on_hand=17)
    deadline = time.monotonic() + 10
    while latency_count(pipeline, "atp.availability") <= before:
        assert time.monotonic() < deadline, "the latency histogram did not count the record"
        time.sleep(0.2)
    lines: list[str] = []
    print_status(pipeline, lines.append)
    assert any(line.startswith("latency") for line in lines), "\n".join(lines)
    assert any("atp.availability" in line and " erp " in line for line in lines), lines


def test_every_input_so_far_was_used_or_dead_lettered_exactly_once_and_the_dataflow_shows_no_lag(pipeline: Settings):
    table = wait_until_every_input_is_accounted(pipeline)
    assert sum(n for n, _, _ in table.values()) > 0
    deadline = time.monotonic() + 15  # the lag reporter measures every 5 s
    while True:
        samples = scrape(pipeline.dataflow.flow_metrics_port) or []
        lag = {(labels["topic"], labels["partition"]): value for n, labels, value in samples if n == "atp_consumer_lag"}
        if lag and not any(lag.values()) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert lag and {key: n for key, n in lag.items() if n} == {}
