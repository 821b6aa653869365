"""Source transactions, assembled whole and released in commit order.

A legacy write is one database transaction: a goods receipt updates ``STOCK_BAL`` and
inserts a ``STOCK_LOT``; a till sale writes a ticket, its lines and the shelf. Debezium
delivers its rows one message each, on one topic per table and spread over partitions,
so they reach us in any order and any number of polls apart. Applied row by row, each
intermediate state would be a promise no committed state ever made.

With transaction metadata on, every change message names its transaction
(``transaction.id`` and ``total_order``, its place in the transaction), and the
connector writes ``BEGIN`` and ``END`` to a transaction topic of one partition, in
commit order; ``END`` says how many change messages the transaction had. One
:class:`TransactionLog` per source database collects the changes of each transaction
wherever they arrive (before or after ``END``), and releases a transaction only when
all its changes are there and every transaction committed before it has been released.

Bounded, never silent:
- a transaction still incomplete ``wait_ms`` after its ``END`` (or after its first change,
  when no ``END`` comes) is released with what arrived, in its commit place, and
  dead-lettered as ``incomplete_transaction`` with its counts, so that the next
  reconcile checks what it touched; a change of it that arrives later is applied then;
- a transaction larger than ``max_changes`` is not held whole (memory, and the state
  that is snapshotted every epoch): it is dead-lettered as ``oversized_transaction``
  and applied as its changes arrive, without the all-at-once guarantee;
- a repeat of a change already released (Debezium is at-least-once) is dropped.

Snapshot reads carry no transaction and do not pass through here (see the README).
Pure: no Kafka, no Bytewax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from atp.domain.compact import pickled_by_position
from atp.domain.events import Event, Provenance
from atp.domain.records import DeadLetter

INCOMPLETE_TRANSACTION = "incomplete_transaction"
OVERSIZED_TRANSACTION = "oversized_transaction"

BEGIN = "BEGIN"
END = "END"

# How many released transaction ids are remembered to drop a repeated change at once. An older repeat
# (Debezium re-sends what it had not yet committed offsets for) comes with its BEGIN/END again and is
# re-released whole, which changes nothing: every row change older than the one applied is ignored.
REMEMBERED_RELEASES = 1024


@pickled_by_position
@dataclass(frozen=True, slots=True)
class TxChange:
    """One change message of a source transaction: its place in it, and its decoded events."""

    tx_id: str
    order: int  # Debezium's total_order, from 1
    events: tuple[Event, ...]


@pickled_by_position
@dataclass(frozen=True, slots=True)
class TxBoundary:
    """A record of the transaction topic: BEGIN, or END with the number of change messages."""

    tx_id: str
    status: str  # BEGIN or END
    event_count: int  # 0 for BEGIN
    provenance: Provenance


TxInput = TxChange | TxBoundary


@pickled_by_position
@dataclass(frozen=True, slots=True)
class Released:
    """A source transaction, whole (or, where marked, what arrived of it), in commit order."""

    tx_id: str
    events: tuple[Event, ...]


@pickled_by_position
@dataclass(slots=True)
class PendingTx:
    changes: dict[int, tuple[Event, ...]] = field(default_factory=dict)  # total_order -> events
    expected: int | None = None  # from END
    first_seen_ms: int = 0
    ended_ms: int | None = None
    end: Provenance | None = None

    @property
    def complete(self) -> bool:
        return self.expected is not None and len(self.changes) >= self.expected

    def events(self) -> tuple[Event, ...]:
        return tuple(event for _, events in sorted(self.changes.items()) for event in events)

    def waiting_since_ms(self) -> int:
        return self.ended_ms if self.ended_ms is not None else self.first_seen_ms


@pickled_by_position
@dataclass(slots=True)
class TransactionLog:
    """Keyed by source database: its transactions in flight, and the order they committed in."""

    source: str
    pending: dict[str, PendingTx] = field(default_factory=dict)
    commit_order: list[str] = field(default_factory=list)  # ENDed, not yet released, in commit order
    streaming: dict[str, tuple[int, int]] = field(default_factory=dict)  # oversized: id -> (seen, expected or -1)
    # Recently released ids -> None when released whole, else the orders applied so far (a late change applies).
    released: dict[str, frozenset[int] | None] = field(default_factory=dict)

    def receive(self, value: TxInput, now_ms: int, max_changes: int) -> list[Released | DeadLetter]:
        if isinstance(value, TxBoundary):
            return self._boundary(value, now_ms, max_changes)
        return self._change(value, now_ms, max_changes)

    def _change(self, change: TxChange, now_ms: int, max_changes: int) -> list[Released | DeadLetter]:
        tx_id = change.tx_id
        if tx_id in self.streaming:
            return self._stream(tx_id, change)
        if tx_id in self.released:
            applied = self.released[tx_id]
            if applied is None or change.order in applied:
                return []  # a repeat of a change already applied
            self.released[tx_id] = applied | {change.order}
            return [Released(tx_id, change.events)]  # a late part of a transaction released incomplete
        pending = self.pending.get(tx_id)
        if pending is None:
            pending = self.pending[tx_id] = PendingTx(first_seen_ms=now_ms)
        pending.changes.setdefault(change.order, change.events)
        if len(pending.changes) > max_changes:
            return self._go_streaming(tx_id, pending, now_ms)
        return self._drain() if pending.complete else []

    def _boundary(self, boundary: TxBoundary, now_ms: int, max_changes: int) -> list[Released | DeadLetter]:
        tx_id = boundary.tx_id
        if boundary.status != END or tx_id in self.released:
            return []  # BEGIN says nothing we need; a repeated END of a released transaction changes nothing
        if tx_id in self.streaming:
            return self._stream_end(tx_id, boundary.event_count)
        pending = self.pending.get(tx_id)
        if pending is None:
            pending = self.pending[tx_id] = PendingTx(first_seen_ms=now_ms)
        if pending.expected is not None:
            return []  # a repeated END
        pending.expected, pending.ended_ms, pending.end = boundary.event_count, now_ms, boundary.provenance
        self.commit_order.append(tx_id)
        if boundary.event_count > max_changes:
            return self._go_streaming(tx_id, pending, now_ms)
        return self._drain()

    def _drain(self) -> list[Released | DeadLetter]:
        """Release, from the oldest, every transaction that is complete and has nothing older before it."""
        out: list[Released | DeadLetter] = []
        while self.commit_order:
            tx_id = self.commit_order[0]
            pending = self.pending.get(tx_id)
            if pending is not None and not pending.complete:
                break
            self.commit_order.pop(0)
            if pending is not None:  # None: gone streaming, its changes are applied as they come
                del self.pending[tx_id]
                self._remember(tx_id, None)
                if pending.changes:  # none: it touched only tables we do not capture
                    out.append(Released(tx_id, pending.events()))
        return out

    def _go_streaming(self, tx_id: str, pending: PendingTx, now_ms: int) -> list[Released | DeadLetter]:
        del self.pending[tx_id]
        self.streaming[tx_id] = (len(pending.changes), -1 if pending.expected is None else pending.expected)
        size = max(len(pending.changes), pending.expected or 0)
        error = f"transaction {tx_id} has {size} changes or more, over the limit held whole; applied as they arrive"
        notice = self._letter(tx_id, pending, OVERSIZED_TRANSACTION, error, now_ms)
        return [notice, Released(tx_id, pending.events()), *self._settle_streaming(tx_id), *self._drain()]

    def _stream(self, tx_id: str, change: TxChange) -> list[Released | DeadLetter]:
        seen, expected = self.streaming[tx_id]
        self.streaming[tx_id] = (seen + 1, expected)
        return [Released(tx_id, change.events), *self._settle_streaming(tx_id)]

    def _stream_end(self, tx_id: str, event_count: int) -> list[Released | DeadLetter]:
        seen, _ = self.streaming[tx_id]
        self.streaming[tx_id] = (seen, event_count)
        return self._settle_streaming(tx_id)

    def _settle_streaming(self, tx_id: str) -> list[Released | DeadLetter]:
        seen, expected = self.streaming[tx_id]
        if 0 <= expected <= seen:
            del self.streaming[tx_id]
            self._remember(tx_id, None)
        return []

    def expire(self, now_ms: int, wait_ms: int) -> list[Released | DeadLetter]:
        """Release what has waited ``wait_ms`` in vain: the oldest transactions in commit order, then orphans."""
        out: list[Released | DeadLetter] = []
        while self.commit_order:
            tx_id = self.commit_order[0]
            pending = self.pending.get(tx_id)
            if pending is not None and not pending.complete and now_ms < pending.waiting_since_ms() + wait_ms:
                break
            if pending is not None and not pending.complete:
                out += self._give_up(tx_id, pending, now_ms)
                self.commit_order.pop(0)
            out += self._drain()
        # Changes whose END never came (its record lost, or a repeat of a long-released transaction).
        for tx_id, pending in list(self.pending.items()):
            if pending.expected is None and now_ms >= pending.first_seen_ms + wait_ms:
                out += self._give_up(tx_id, pending, now_ms)
        return out

    def _give_up(self, tx_id: str, pending: PendingTx, now_ms: int) -> list[Released | DeadLetter]:
        del self.pending[tx_id]
        self._remember(tx_id, frozenset(pending.changes))
        expected = "an unknown number of" if pending.expected is None else str(pending.expected)
        error = (
            f"transaction {tx_id}: {len(pending.changes)} of {expected} changes arrived in time; "
            "applied what arrived, and each late change when it comes (run atp reconcile)"
        )
        return [self._letter(tx_id, pending, INCOMPLETE_TRANSACTION, error, now_ms), Released(tx_id, pending.events())]

    def _letter(self, tx_id: str, pending: PendingTx, reason: str, error: str, now_ms: int) -> DeadLetter:
        where = pending.end or Provenance(0, "", f"{self.source}.transaction", -1, -1)
        payload = orjson.dumps(
            {"source": self.source, "id": tx_id, "expected": pending.expected, "arrived": sorted(pending.changes)}
        ).decode()
        return DeadLetter(where.topic, where.partition, where.offset, reason, error, payload, now_ms)

    def _remember(self, tx_id: str, missing: frozenset[int] | None) -> None:
        self.released[tx_id] = missing
        while len(self.released) > REMEMBERED_RELEASES:
            del self.released[next(iter(self.released))]

    def deadline_ms(self, wait_ms: int) -> int | None:
        """When the oldest waiting transaction gives up waiting (a Bytewax timer wakes the key then)."""
        waits = [p.waiting_since_ms() for p in self.pending.values() if not p.complete]
        return min(waits) + wait_ms if waits else None

    @property
    def is_empty(self) -> bool:
        return not self.pending and not self.commit_order and not self.streaming
