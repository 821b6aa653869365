"""A Debezium re-snapshot or a backfill converges to the state live streaming reached, and publishes no
partial state on the way: when nothing changed at the source, nothing is published at all (so nothing can
have promised more than there is in between)."""

from __future__ import annotations

import pytest

from atp.settings import Settings
from connectors import topics
from connectors.legacy_db import erp_connection, pos_connection
from connectors.output_watch import TopicWatcher
from tests.integration.accounting import wait_until_every_input_is_accounted
from tests.integration.legacy_writes import a_store, new_item, put_on_shelf
from tests.integration.outputs import next_record
from tests.integration.test_chaos import resnapshot_the_pos

pytestmark = pytest.mark.integration


def test_a_resnapshot_and_a_backfill_of_unchanged_rows_publish_nothing(pipeline: Settings, availability: TopicWatcher):
    store = a_store(pipeline)
    marker, marker_upc = new_item(pipeline)
    put_on_shelf(pipeline, store, marker_upc, 5)
    next_record(availability, f"{marker}@{store}", on_hand=5)
    wait_until_every_input_is_accounted(pipeline)
    availability.drain(quiet_s=3.0)  # whatever the flow published before now (the session's initial load)
    watcher = TopicWatcher(pipeline.kafka, topics.AVAILABILITY)  # from the topic's end: only what the re-reads cause

    resnapshot_the_pos(pipeline)  # every POS row again, as snapshot reads
    with pos_connection(pipeline.stack) as pos, pos.cursor() as cur:  # a backfill: every row rewritten as it is
        cur.execute("UPDATE store_stock SET updated_at = localtimestamp")
        pos.commit()
    with erp_connection(pipeline.stack) as erp, erp.cursor() as cur:
        cur.execute("UPDATE STOCK_BAL SET UPD_TS = NOW(3)")
        erp.commit()
    with pos_connection(pipeline.stack) as pos, pos.cursor() as cur:  # then one real change
        cur.execute("UPDATE store_stock SET on_hand = 6 WHERE store_id = %s AND upc = %s", (store, marker_upc))
        pos.commit()
    try:
        next_record(watcher, f"{marker}@{store}", on_hand=6)
        wait_until_every_input_is_accounted(pipeline)  # the flow has read everything the snapshot and backfill sent
        published = watcher.drain(quiet_s=2.0)
    finally:
        watcher.close()
    from_sources = [
        (key, record)
        for key, record in published
        if record["cause_ref"].startswith(("pos.", "erp.")) and key.split("@")[0] != marker
    ]
    assert from_sources == [], f"a re-read of unchanged rows published {len(from_sources)} record(s), the first: " + (
        "; ".join(f"{key}: {record}" for key, record in from_sources[:3])
    )
