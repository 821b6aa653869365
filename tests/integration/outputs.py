"""Waiting for what the pipeline publishes: a record on a topic, a row in the store."""

from __future__ import annotations

import time

from atp import analyst
from atp.settings import Settings
from connectors.output_watch import Record, TopicWatcher


def next_record(watcher: TopicWatcher, key: str, timeout_s: float = 90, **expected: object) -> Record:
    """The next record for ``key`` whose fields equal ``expected``."""
    record, _ = watcher.wait_for(lambda k, r: k == key and all(r[f] == v for f, v in expected.items()), timeout_s)
    return record


def store_row(settings: Settings, sku: str, location: str, version: int) -> dict[str, object]:
    """The ClickHouse row for sku@location once the loader has caught up to ``version``."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = analyst.run_query(
            settings.store,
            "SELECT * FROM atp.location_availability FINAL WHERE sku = {sku:String} AND location = {location:String}",
            {"sku": sku, "location": location},
        )
        if rows and int(rows[0]["version"]) >= version:
            return rows[0]
        time.sleep(0.2)
    raise AssertionError(f"ClickHouse has no row for {sku}@{location} at version {version}")
