"""The POS CDC user's grants and the POS connector agree: pos_cdc may read exactly the columns Debezium
captures, never a personal one, and the snapshot needs no more than that (no table lock, no SELECT *)."""

from __future__ import annotations

import pytest

from atp.errors import ServiceError
from atp.settings import settings_from_fields
from connectors.cdc_connectors import POS_PERSONAL_COLUMNS, POS_TABLES, personal_columns, pos_config
from infra.postgres import cdc_grants

POS_COLUMNS = {
    "store": ["store_id", "name", "timezone"],
    "store_stock": ["store_id", "upc", "on_hand", "updated_at"],
    "sale_ticket": ["ticket_id", "store_id", "opened_at", "status", "customer_email", "loyalty_id"],
    "sale_line": ["ticket_id", "line_no", "upc", "qty", "unit_price"],
    "staff_payroll": ["emp", "salary"],  # not captured: never granted
}


def test_sale_ticket_is_granted_column_by_column_without_the_personal_columns() -> None:
    grants = cdc_grants(POS_COLUMNS)
    ticket = [g for g in grants if '"sale_ticket"' in g]
    assert ticket == [
        'REVOKE ALL ON "sale_ticket" FROM pos_cdc',  # a stack granted the whole table before loses it first
        'GRANT SELECT ("ticket_id", "store_id", "opened_at", "status") ON "sale_ticket" TO pos_cdc',
    ]
    assert not any("customer_email" in g or "loyalty_id" in g for g in grants)


def test_only_the_captured_tables_are_granted_and_those_without_personal_data_whole() -> None:
    grants = cdc_grants(POS_COLUMNS)
    assert [g for g in grants if "sale_ticket" not in g] == [
        'GRANT SELECT ON "store" TO pos_cdc',
        'GRANT SELECT ON "store_stock" TO pos_cdc',
        'GRANT SELECT ON "sale_line" TO pos_cdc',
    ]
    assert not any("staff_payroll" in g for g in grants)


def test_a_column_added_to_sale_ticket_is_granted_at_the_next_up_a_personal_one_never() -> None:
    columns = POS_COLUMNS | {"sale_ticket": [*POS_COLUMNS["sale_ticket"], "till_no"]}
    assert '"till_no"' in [g for g in cdc_grants(columns) if g.startswith("GRANT SELECT (")][0]
    with pytest.raises(ServiceError, match="sale_ticket"):
        cdc_grants({"sale_ticket": ["customer_email", "loyalty_id"]})


def test_the_connector_excludes_exactly_what_the_grants_withhold_and_takes_no_table_lock() -> None:
    settings = settings_from_fields()
    config = pos_config(settings.stack, settings.kafka)
    excluded = set(config["column.exclude.list"].split(","))
    assert excluded == set(POS_PERSONAL_COLUMNS)
    assert {f"public.{t}.{c}" for t in POS_TABLES for c in personal_columns(t)} == excluded
    # PostgreSQL's LOCK TABLE ... IN ACCESS SHARE MODE needs table-wide SELECT, which pos_cdc lacks on sale_ticket.
    assert config["snapshot.locking.mode"] == "none"
    # Debezium 3.5 builds the snapshot SELECT from the included columns; no override that could SELECT *.
    assert not any(k.startswith("snapshot.select.statement.overrides") for k in config)
