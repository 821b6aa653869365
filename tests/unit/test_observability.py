"""What SREs see: the metrics the dashboards and alerts rely on exist, count what they say, and the logs are
structured and never carry personal data."""

import json
import logging
import re

import orjson
import yaml
from bytewax.testing import TestingSink, TestingSource, run_main
from prometheus_client import REGISTRY

from atp.domain.ledger import InputLedger
from atp.log_format import JsonFormatter
from atp.settings import PROJECT_ROOT, settings_from_fields
from atp.status import latency_rows, quantile
from connectors.kafka_sink import source_of
from flows.process import availability_flow
from tests.debezium_events import ERP_ITEMS, ERP_STOCK, envelope, item_row, mariadb_source, message, stock_bal_row

OBSERVABILITY = PROJECT_ROOT / "infra" / "observability"
METRIC_NAME = re.compile(r"\b(atp_[a-z_]+)")


def exported_names() -> set[str]:
    """Every sample name the pipeline's registry can export (counters end in _total, histograms in _bucket...)."""
    import atp.metrics  # noqa: F401 - defines them

    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + suffix for suffix in ("_bucket", "_sum", "_count")}
    return names


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_expressions() -> list[str]:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def used_metrics(expressions: list[str]) -> set[str]:
    return {name for expr in expressions for name in METRIC_NAME.findall(expr)}


def test_every_metric_the_dashboard_and_the_alert_rules_use_is_one_the_pipeline_exports():
    used = used_metrics(dashboard_expressions() + alert_expressions())
    assert used, "no atp_ metric found in infra/observability"
    assert used - exported_names() == set()


def test_the_alert_rules_cover_lag_latency_dead_letters_and_connectors():
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yml").read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"AtpLagGrowing", "AtpLatencyOverTarget", "AtpDeadLetterRate", "AtpConnectorNotRunning"} <= names


def test_the_dashboard_shows_every_metric_the_issue_names():
    used = used_metrics(dashboard_expressions())
    assert {
        "atp_input_events_total",
        "atp_consumer_lag",
        "atp_end_to_end_latency_seconds_bucket",
        "atp_emitted_records_total",
        "atp_dead_letters_total",
        "atp_keys_in_state",
        "atp_active_holds",
        "atp_timers_pending",
        "atp_webhook_deliveries_total",
        "atp_webhook_retries_total",
        "atp_store_write_seconds_bucket",
        "atp_store_batch_rows_bucket",
    } <= used


def test_the_ledger_counts_each_offset_once_so_a_re_read_changes_nothing():
    ledger = InputLedger("erp.erp.STOCK_BAL", 0)
    for offset, dead in [(0, False), (1, True), (2, False), (1, True), (2, False), (3, False)]:
        ledger.record(offset, dead)
    assert (ledger.used, ledger.dead_lettered, ledger.next_offset) == (3, 1, 4)


def accounted(topic: str, partition: int) -> tuple[float | None, float | None]:
    def value(outcome: str) -> float | None:
        labels = {"topic": topic, "partition": str(partition), "outcome": outcome}
        return REGISTRY.get_sample_value("atp_inputs_accounted", labels)

    return value("used"), value("dead_lettered")


def test_the_dataflow_accounts_every_input_as_used_or_dead_lettered():
    stock = envelope("u", None, stock_bal_row("LEDGER-1", "DC0001", "3.000"), mariadb_source("STOCK_BAL", 2))
    inputs = [
        message(ERP_ITEMS, envelope("r", None, item_row("LEDGER-1"), mariadb_source("ITEM_MASTER", 1)), 0, 3),
        message(ERP_STOCK, stock, 0, 3),
        message(ERP_STOCK, b"{not json", 1, 3),
        message(ERP_STOCK, None, 2, 3),  # a tombstone: used (the delete before it said it all)
        message(ERP_STOCK, stock, 1, 3),  # offset 1 again (a re-read): counted once
    ]
    out: list[object] = []
    run_main(availability_flow(settings_from_fields(), TestingSource(inputs), TestingSink(out)))
    assert accounted(ERP_STOCK, 3) == (2, 1)
    assert accounted(ERP_ITEMS, 3) == (1, 0)


def test_a_records_source_is_read_from_its_cause_ref():
    assert source_of("erp.erp.STOCK_BAL[1]@7 binlog=2:4242#3") == "erp"
    assert source_of("pos.public.store_stock[0]@3 lsn=99") == "pos"
    assert source_of("orders.reservations[2]@881 event=cart-77-HOLD") == "reservations"
    assert source_of("timer: hold cart-77") == "timer"
    assert source_of("atp.reconcile[0]@4 run=r1") == "reconcile"


def test_latency_percentiles_are_read_from_the_histogram_buckets_like_promql_does():
    buckets = [(0.05, 50.0), (0.1, 90.0), (0.2, 100.0), (float("inf"), 100.0)]
    assert quantile(0.5, buckets) == 0.05
    assert abs(quantile(0.95, buckets) - 0.15) < 1e-9  # type: ignore[operator]
    assert quantile(0.5, [(0.1, 0.0), (float("inf"), 0.0)]) is None
    samples = [
        ("atp_end_to_end_latency_seconds_bucket", {"topic": "atp.availability", "source": "pos", "le": str(b)}, c)
        for b, c in buckets
    ]
    [(topic, source, count, (p50, _, _))] = latency_rows(samples)
    assert (topic, source, count, p50) == ("atp.availability", "pos", 100, 0.05)


def test_log_lines_are_json_with_what_they_are_about_and_never_an_email():
    email = ("jane@example.com",)
    record = logging.LogRecord("atp.sink", logging.WARNING, __file__, 1, "hold for %s lapsed", email, None)
    record.sku, record.location, record.event_id = "TEE-1", "DC0001", "cart-77-HOLD"
    line = orjson.loads(JsonFormatter().format(record))
    assert (line["level"], line["logger"], line["sku"], line["location"], line["event_id"]) == (
        "WARNING",
        "atp.sink",
        "TEE-1",
        "DC0001",
        "cart-77-HOLD",
    )
    assert "jane@example.com" not in line["msg"] and line["msg"] == "hold for *** lapsed"
