"""Reconciliation on the real stack: the pipeline agrees with a fresh read of the ERP, the POS and the
reservation log; a change the CDC never saw is found as drift and repaired through the dataflow."""

from __future__ import annotations

import pytest

from atp import analyst
from atp.reconcile import reconcile
from atp.settings import Settings
from connectors.output_watch import TopicWatcher
from infra.mariadb import admin_sql
from tests.integration.legacy_writes import DC, new_item, set_dc_stock
from tests.integration.outputs import next_record, store_row

pytestmark = pytest.mark.integration


def test_a_change_the_binlog_never_saw_is_reported_as_drift_then_repaired_with_cause_reconcile(
    pipeline: Settings, availability: TopicWatcher
):
    sku, _ = new_item(pipeline)
    set_dc_stock(pipeline, sku, 40)
    seen = next_record(availability, f"{sku}@{DC}", on_hand=40)
    store_row(pipeline, sku, DC, seen["version"])
    # A DBA's fix with the binary log off: the ERP changes and Debezium never hears of it.
    admin_sql(
        pipeline.stack,
        f"SET sql_log_bin = 0; UPDATE erp.STOCK_BAL SET QTY_OH = 25, UPD_TS = NOW(3) "
        f"WHERE ITEM_NO = '{sku}' AND LOC_CD = '{DC}'",
    )

    found = reconcile(pipeline, repair=False, settle_s=1)
    ours = {(d.field, d.pipeline_value, d.source_value) for d in found.drifts if d.sku == sku}
    assert ours == {("on_hand", 40, 25), ("available", 40, 25)}
    # Everything else the suite did so far agrees with the systems of record.
    assert [d for d in found.drifts if d.sku != sku] == []
    recorded = analyst.run_query(
        pipeline.store,
        "SELECT field, pipeline_value, source_value FROM atp.reconcile_drift WHERE run_id = {run:String} "
        "AND sku = {sku:String} ORDER BY field",
        {"run": found.run_id, "sku": sku},
    )
    assert [(r["field"], int(r["pipeline_value"]), int(r["source_value"])) for r in recorded] == [
        ("available", 40, 25),
        ("on_hand", 40, 25),
    ]

    repaired = reconcile(pipeline, repair=True, settle_s=0)
    assert repaired.repairs_sent == 1
    record = next_record(availability, f"{sku}@{DC}", on_hand=25)
    assert (record["cause"], record["available"], record["version"]) == ("reconcile", 25, seen["version"] + 1)
    store_row(pipeline, sku, DC, record["version"])
    assert [d for d in reconcile(pipeline, repair=False, settle_s=0).drifts if d.sku == sku] == []
