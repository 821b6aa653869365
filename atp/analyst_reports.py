"""The analyst notebooks' questions, as queries on the store and plain functions on their rows.

Every time comes back as epoch milliseconds (``toUnixTimestamp64Milli`` in the SQL), so the
answers are the same whether the store is chdb, the loader's endpoint or a ClickHouse server.
The pure functions below (risk windows, breakdowns, percentiles) are what the notebooks assert
on; they take rows, not a store, so the unit tests pin them on hand-made rows.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from atp.analyst import WHY_SQL
from atp.settings import StoreSettings
from connectors.clickhouse_store import Row, Store, open_store_for_reading

K = TypeVar("K", str, int)


def utc(epoch_ms: int) -> str:
    """An epoch time as analysts read it: ``2026-11-22 10:01:00`` (UTC)."""
    return dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def open_store(settings: StoreSettings) -> Store:
    """The store a notebook reads: the server, the running loader's endpoint, or the chdb directory."""
    return open_store_for_reading(settings)


# -- availability of one SKU at one location over time -----------------------------------


@dataclass(frozen=True, slots=True)
class AvailabilityPoint:
    """One published record of a SKU at a location, at its source time."""

    version: int
    source_ms: int
    on_hand: int
    unsellable: int
    reserved: int
    committed: int
    safety_stock: int
    available: int
    status: str
    cause: str

    @property
    def promised_away(self) -> int:
        """Units held or committed to orders: what an oversell would break."""
        return self.reserved + self.committed


HISTORY_SQL = """
SELECT version, toUnixTimestamp64Milli(source_ts_ms) AS source_ms, on_hand, unsellable, reserved, committed,
       safety_stock, available, status, cause
FROM atp.availability_history FINAL
WHERE sku = {sku:String} AND location = {location:String}
ORDER BY version
"""

# The key to look at when the analyst names none: the one with the most records while holds or
# commitments were open (the interesting history), then the most records, then by name.
BUSIEST_KEY_SQL = """
SELECT sku, location, countIf(reserved + committed > 0) AS promised_records, count() AS records
FROM atp.availability_history FINAL
GROUP BY sku, location
ORDER BY promised_records DESC, records DESC, sku, location
LIMIT 1
"""


def _point(row: Row) -> AvailabilityPoint:
    return AvailabilityPoint(
        version=int(row["version"]),
        source_ms=int(row["source_ms"]),
        on_hand=int(row["on_hand"]),
        unsellable=int(row["unsellable"]),
        reserved=int(row["reserved"]),
        committed=int(row["committed"]),
        safety_stock=int(row["safety_stock"]),
        available=int(row["available"]),
        status=str(row["status"]),
        cause=str(row["cause"]),
    )


def busiest_key(store: Store) -> tuple[str, str] | None:
    """(sku, location) with the richest history, or None for an empty store."""
    rows = store.query(BUSIEST_KEY_SQL)
    return (str(rows[0]["sku"]), str(rows[0]["location"])) if rows else None


def availability_history(store: Store, sku: str, location: str) -> list[AvailabilityPoint]:
    """Every record published for the SKU at the location, oldest version first."""
    return [_point(r) for r in store.query(HISTORY_SQL, {"sku": sku, "location": location})]


def current_record(store: Store, sku: str, location: str) -> Row | None:
    """What the store shows now for the SKU at the location (the latest version)."""
    rows = store.query(
        "SELECT version, available, status FROM atp.location_availability FINAL "
        "WHERE sku = {sku:String} AND location = {location:String}",
        {"sku": sku, "location": location},
    )
    return rows[0] if rows else None


def shown_and_why(
    store: Store, sku: str, location: str, attempts: int = 10, pause_s: float = 0.2
) -> tuple[Row | None, list[Row]]:
    """What the key shows now, and the chain of records (``atp.why``) up to at least that version.

    The loader writes a batch to ``location_availability`` before ``availability_history``, so
    for a moment the latest figure can be ahead of the chain behind it: read the figure first,
    then the chain until it has caught up (a few tries; a stopped pipeline needs one).
    """
    shown = current_record(store, sku, location)
    chain = store.query(WHY_SQL, {"sku": sku, "location": location})
    for _ in range(attempts - 1):
        if shown is None or (chain and int(chain[-1]["version"]) >= int(shown["version"])):
            break
        time.sleep(pause_s)
        chain = store.query(WHY_SQL, {"sku": sku, "location": location})
    return shown, chain


# -- oversell risk: nothing left to promise while orders still hold stock -----------------


@dataclass(frozen=True, slots=True)
class RiskWindow:
    """A stretch during which ``available`` was 0 while holds or commitments were open.

    ``end_ms`` is the source time of the record that ended it; None while it is still open,
    in which case ``duration_ms`` runs to the ``as_of_ms`` the windows were computed at.
    """

    sku: str
    location: str
    start_ms: int
    end_ms: int | None
    duration_ms: int
    peak_promised: int  # the most units held or committed at once during the window
    records: int
    start_version: int
    end_version: int | None  # the record that ended it: versions order a key's records, source times may not


def at_risk(point: AvailabilityPoint) -> bool:
    return point.available <= 0 and point.promised_away > 0


def risk_windows(sku: str, location: str, history: Sequence[AvailabilityPoint], as_of_ms: int) -> list[RiskWindow]:
    """The windows of one key's history (ordered by version) during which it was at risk."""
    windows: list[RiskWindow] = []
    opened: list[AvailabilityPoint] = []
    for point in history:
        if at_risk(point):
            opened.append(point)
            continue
        if opened:
            windows.append(_window(sku, location, opened, point))
            opened = []
    if opened:
        windows.append(_window(sku, location, opened, None, as_of_ms))
    return windows


def _window(
    sku: str, location: str, opened: list[AvailabilityPoint], closing: AvailabilityPoint | None, as_of_ms: int = 0
) -> RiskWindow:
    start_ms = opened[0].source_ms
    end_ms = closing.source_ms if closing is not None else None
    until = end_ms if end_ms is not None else as_of_ms
    return RiskWindow(
        sku=sku,
        location=location,
        start_ms=start_ms,
        end_ms=end_ms,
        # source times of one key follow its versions, but a clock may step back: never below zero
        duration_ms=max(0, until - start_ms),
        peak_promised=max(p.promised_away for p in opened),
        records=len(opened),
        start_version=opened[0].version,
        end_version=closing.version if closing is not None else None,
    )


# The whole history of every key that was ever at risk, in one read (a store may hold thousands).
HISTORIES_AT_RISK_SQL = """
SELECT sku, location, version, toUnixTimestamp64Milli(source_ts_ms) AS source_ms, on_hand, unsellable, reserved,
       committed, safety_stock, available, status, cause
FROM atp.availability_history FINAL
WHERE (sku, location) IN (
    SELECT sku, location FROM atp.availability_history FINAL WHERE available <= 0 AND reserved + committed > 0
)
ORDER BY sku, location, version
"""

LATEST_SOURCE_SQL = "SELECT toUnixTimestamp64Milli(max(source_ts_ms)) AS as_of_ms FROM atp.availability_history"


def latest_source_ms(store: Store) -> int:
    """The latest source time in the store: where a window still open is measured to."""
    rows = store.query(LATEST_SOURCE_SQL)
    return int(rows[0]["as_of_ms"]) if rows else 0


def histories_at_risk(store: Store) -> dict[tuple[str, str], list[AvailabilityPoint]]:
    """Every key that was ever at risk, with its whole history in version order."""
    histories: dict[tuple[str, str], list[AvailabilityPoint]] = {}
    for row in store.query(HISTORIES_AT_RISK_SQL):
        histories.setdefault((str(row["sku"]), str(row["location"])), []).append(_point(row))
    return histories


def oversell_risk(store: Store) -> list[RiskWindow]:
    """Every risk window in the store, longest first; open ones run to the store's latest source time."""
    histories = histories_at_risk(store)
    as_of_ms = latest_source_ms(store)  # read after: no record of the histories is later
    windows: list[RiskWindow] = []
    for (sku, location), history in histories.items():
        windows += risk_windows(sku, location, history, as_of_ms)
    return sorted(windows, key=lambda w: (-w.duration_ms, w.sku, w.location, w.start_ms))


# -- channel staleness: from the source commit to the channel record ----------------------


@dataclass(frozen=True, slots=True)
class ChannelStaleness:
    channel: str
    channel_sku: str
    version: int
    staleness_ms: int


# A channel record carries no source time (its contract has none), so the commit it reflects is
# taken as the latest source commit for its SKU, at any location, at or before the record was
# computed: the newest input the channel figure could have included. The store keeps each
# listing's latest record only, so this is the staleness of what every listing shows now.
CHANNEL_STALENESS_SQL = """
SELECT c.channel AS channel, c.channel_sku AS channel_sku, c.version AS version,
       toUnixTimestamp64Milli(c.computed_ts_ms) - toUnixTimestamp64Milli(a.source_ts_ms) AS staleness_ms
FROM (SELECT channel, channel_sku, sku, version, computed_ts_ms FROM atp.channel_availability FINAL) AS c
ASOF INNER JOIN (SELECT sku, source_ts_ms FROM atp.availability_history) AS a
ON c.sku = a.sku AND c.computed_ts_ms >= a.source_ts_ms
ORDER BY channel, channel_sku, version
"""


def channel_staleness(store: Store) -> list[ChannelStaleness]:
    """Each listing's current record that has a source commit behind it, and how long after it it came."""
    return [
        ChannelStaleness(str(r["channel"]), str(r["channel_sku"]), int(r["version"]), int(r["staleness_ms"]))
        for r in store.query(CHANNEL_STALENESS_SQL)
    ]


def percentile(values: Sequence[int], share: float) -> int:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 for none."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Spread:
    count: int
    p50: int
    p95: int
    max: int


def spread(values: Sequence[int]) -> Spread:
    return Spread(len(values), percentile(values, 0.5), percentile(values, 0.95), max(values, default=0))


def staleness_by_channel(records: Iterable[ChannelStaleness]) -> dict[str, Spread]:
    by_channel: dict[str, list[int]] = {}
    for record in records:
        by_channel.setdefault(record.channel, []).append(record.staleness_ms)
    return {channel: spread(values) for channel, values in sorted(by_channel.items())}


# -- dead letters ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetterCount:
    """How many inputs were dead-lettered for one reason, from one topic, in one minute."""

    reason: str
    source_topic: str
    minute_ms: int
    count: int


DEAD_LETTERS_SQL = """
SELECT reason, source_topic, toInt64(toUnixTimestamp(toStartOfMinute(at_ms))) * 1000 AS minute_ms, count() AS dead
FROM atp.dlq FINAL
GROUP BY reason, source_topic, minute_ms
ORDER BY minute_ms, reason, source_topic
"""


def dead_letter_counts(store: Store) -> list[DeadLetterCount]:
    """One read of ``atp.dlq``: every breakdown below comes from it, so they agree with each other."""
    return [
        DeadLetterCount(str(r["reason"]), str(r["source_topic"]), int(r["minute_ms"]), int(r["dead"]))
        for r in store.query(DEAD_LETTERS_SQL)
    ]


def count_by_reason(counts: Iterable[DeadLetterCount]) -> dict[str, int]:
    """Dead letters per reason, most first."""
    return _most_first(_summed(counts, lambda c: c.reason))


def count_by_source(counts: Iterable[DeadLetterCount]) -> dict[str, int]:
    """Dead letters per source topic, most first."""
    return _most_first(_summed(counts, lambda c: c.source_topic))


def count_by_minute(counts: Iterable[DeadLetterCount]) -> dict[int, int]:
    """Dead letters per minute of their dead-lettering, oldest first."""
    summed = _summed(counts, lambda c: c.minute_ms)
    return {minute: summed[minute] for minute in sorted(summed)}


def _summed(counts: Iterable[DeadLetterCount], key: Callable[[DeadLetterCount], K]) -> Counter[K]:
    total: Counter[K] = Counter()
    for c in counts:
        total[key(c)] += c.count
    return total


def _most_first(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


# -- latency and lag over time -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LatencyMinute:
    """The records computed in one minute: source commit to publish, and publish to load (ms)."""

    minute_ms: int
    records: int
    publish_p50: int
    publish_p95: int
    publish_max: int
    load_p50: int
    load_p95: int
    load_max: int
    load_min: int


LATENCY_SQL = """
SELECT toInt64(toUnixTimestamp(toStartOfMinute(computed_ts_ms))) * 1000 AS minute_ms, count() AS records,
       quantileExact(0.5)(publish_ms) AS publish_p50, quantileExact(0.95)(publish_ms) AS publish_p95,
       max(publish_ms) AS publish_max,
       quantileExact(0.5)(load_ms) AS load_p50, quantileExact(0.95)(load_ms) AS load_p95,
       max(load_ms) AS load_max, min(load_ms) AS load_min
FROM (
    SELECT computed_ts_ms,
           toUnixTimestamp64Milli(computed_ts_ms) - toUnixTimestamp64Milli(source_ts_ms) AS publish_ms,
           toUnixTimestamp64Milli(loaded_at) - toUnixTimestamp64Milli(computed_ts_ms) AS load_ms
    FROM atp.availability_history FINAL
)
GROUP BY minute_ms
ORDER BY minute_ms
"""


def latency_by_minute(store: Store) -> list[LatencyMinute]:
    """Per minute of publishing: how long after the source commit records were published, and loaded."""
    fields = LatencyMinute.__dataclass_fields__
    return [LatencyMinute(**{name: int(row[name]) for name in fields}) for row in store.query(LATENCY_SQL)]
