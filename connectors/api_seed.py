"""Seeding the lookup API's read model from the store once at start, before the topics are read.

The output topics keep the broker's default retention (7 days), so the topics alone would leave out every
key whose last record is older: the store holds the latest record of every key for good
(``atp.location_availability``, ``atp.channel_availability``). The store is read only here, at start, in
pages; every lookup is answered from memory. The topics are read afterwards from their beginning: a record
the seed already gave has the same version and changes nothing, a newer one replaces it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

from atp.errors import AtpError, StoreError
from atp.settings import StoreSettings
from connectors.api_read_model import ReadModel
from connectors.clickhouse_store import RemoteStore, ServerStore, Store, store_endpoint_alive

log = logging.getLogger("atp.api")

PAGE_ROWS = 50_000

# Timestamps and dates as text, the same from chdb and from a server (whose client would give datetimes).
AVAILABILITY_PAGE = """
SELECT sku, location, on_hand, unsellable, reserved, committed, safety_stock, available, incoming,
       toString(next_inbound_date) AS next_inbound_date, status, version,
       toString(source_ts_ms, 'UTC') AS source_ts_ms, toString(computed_ts_ms, 'UTC') AS computed_ts_ms,
       cause, cause_ref
FROM atp.location_availability FINAL
WHERE (sku, location) > ({after_sku:String}, {after_location:String})
ORDER BY sku, location
LIMIT {rows:UInt32}
"""

CHANNEL_PAGE = """
SELECT channel, channel_sku, sku, available, buffer, status, toString(promise_date) AS promise_date, version,
       toString(computed_ts_ms, 'UTC') AS computed_ts_ms
FROM atp.channel_availability FINAL
WHERE (channel, channel_sku) > ({after_channel:String}, {after_channel_sku:String})
ORDER BY channel, channel_sku
LIMIT {rows:UInt32}
"""

INTEGERS = frozenset(
    {"on_hand", "unsellable", "reserved", "committed", "safety_stock", "available", "incoming", "version", "buffer"}
)
TIMESTAMPS = frozenset({"source_ts_ms", "computed_ts_ms"})


def as_record(row: dict[str, Any]) -> dict[str, Any]:
    """A store row as the contract's JSON gives it: whole numbers as ints (a 64-bit one may come quoted),
    ``2026-11-22 10:04:00.000`` as ``2026-11-22T10:04:00.000Z``."""
    record = dict(row)
    for name in INTEGERS & record.keys():
        record[name] = int(record[name])
    for name in TIMESTAMPS & record.keys():
        record[name] = str(record[name]).replace(" ", "T") + "Z"
    return record


def _pages(store: Store, sql: str, keys: tuple[str, str], rows: int) -> Iterator[list[dict[str, Any]]]:
    after = ("", "")
    while True:
        page = store.query(sql, {f"after_{keys[0]}": after[0], f"after_{keys[1]}": after[1], "rows": rows})
        if page:
            yield page
        if len(page) < rows:
            return
        after = (str(page[-1][keys[0]]), str(page[-1][keys[1]]))


def seed_from_store(model: ReadModel, store: Store, rows: int = PAGE_ROWS) -> int:
    """Apply the latest record of every key in ``store`` to ``model``; the number of records read."""
    read = 0
    for page in _pages(store, AVAILABILITY_PAGE, ("sku", "location"), rows):
        for row in page:
            model.apply_availability(as_record(row))
        read += len(page)
    for page in _pages(store, CHANNEL_PAGE, ("channel", "channel_sku"), rows):
        for row in page:
            model.apply_channel(as_record(row))
        read += len(page)
    log.info("API read model seeded with %d record(s) from the store", read)
    return read


def seed_when_store_answers(
    model: ReadModel, settings: StoreSettings, stop: threading.Event, wait_s: float = 120
) -> None:
    """Seed ``model`` from the store the pipeline's loader opens (chdb: once its endpoint answers; a server:
    directly). A store that cannot be read leaves the model to the topics alone, with a warning."""
    deadline = time.monotonic() + wait_s
    try:
        if settings.clickhouse_url:
            store: Store = ServerStore(settings.clickhouse_url)
        else:
            while not store_endpoint_alive(settings):
                if stop.is_set() or time.monotonic() > deadline:
                    raise StoreError(f"the store endpoint did not answer within {wait_s:.0f}s")
                stop.wait(0.5)
            store = RemoteStore(settings.store_url, settings.token_file)
        try:
            seed_from_store(model, store)
        finally:
            store.close()
    except (AtpError, OSError) as exc:
        log.warning("API read model not seeded from the store (%s): it holds what the topics still keep", exc)
