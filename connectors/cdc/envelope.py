"""The Debezium change-event envelope (JSON converter, ``schemas.enable=false``).

A value is ``{"before", "after", "source", "op", "ts_ms", ...}``; a null value is
the tombstone that follows a delete (for log compaction) and carries nothing
new for us.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atp.errors import CdcDecodeError, InputError
from connectors.json_input import parse_json

Row = dict[str, Any]

_OPS = frozenset({"c", "u", "d", "r", "t"})


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    op: str  # c create, u update, d delete, r snapshot read, t truncate
    before: Row | None
    after: Row | None
    source: Row
    transaction: tuple[str, int] | None = None  # (transaction id, place in it from 1); None for snapshot reads

    @property
    def is_delete(self) -> bool:
        return self.op == "d"

    @property
    def row(self) -> Row:
        """The row as it is now, or as it was before a delete."""
        row = self.before if self.op == "d" else self.after
        if row is None:
            raise CdcDecodeError(
                "missing_row", f"op {self.op!r} event without its {'before' if self.op == 'd' else 'after'} image"
            )
        return row


def json_object(value: bytes, not_an_object: str) -> dict[str, Any]:
    """``value`` parsed as a JSON object; raises with ``unparsable_json``, ``too_deeply_nested`` or
    ``not_an_object`` as the reason."""
    try:
        doc = parse_json(value)
    except InputError as exc:
        raise CdcDecodeError(exc.reason, exc.detail) from exc
    if not isinstance(doc, dict):
        raise CdcDecodeError(not_an_object, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def parse_envelope(value: bytes | None) -> ChangeEvent | None:
    """The change event in ``value``; ``None`` for a tombstone."""
    if value is None:
        return None
    doc = json_object(value, "not_an_envelope")
    if "payload" in doc and "schema" in doc:
        raise CdcDecodeError(
            "schemas_enabled", "envelope wrapped in schema/payload; set value.converter.schemas.enable=false"
        )
    op = doc.get("op")
    if not isinstance(op, str) or op not in _OPS:  # a list or an object is no op (nor hashable)
        raise CdcDecodeError("unknown_op", f"op {op!r}")
    source = doc.get("source")
    if not isinstance(source, dict):
        raise CdcDecodeError("missing_source", "no source block")
    before, after = doc.get("before"), doc.get("after")
    if (before is not None and not isinstance(before, dict)) or (after is not None and not isinstance(after, dict)):
        raise CdcDecodeError("not_an_envelope", "before/after must be objects")
    return ChangeEvent(op=op, before=before, after=after, source=source, transaction=read_transaction(doc))


def read_transaction(doc: dict[str, Any]) -> tuple[str, int] | None:
    """The ``transaction`` block Debezium adds with ``provide.transaction.metadata`` (absent on snapshot reads)."""
    block = doc.get("transaction")
    if block is None:
        return None
    if not isinstance(block, dict):
        raise CdcDecodeError("invalid_transaction", "transaction block must be an object")
    tx_id, order = block.get("id"), block.get("total_order")
    if not isinstance(tx_id, str) or not tx_id or not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise CdcDecodeError("invalid_transaction", f"transaction block without id or order ({tx_id!r}, {order!r})")
    key = transaction_key(tx_id)
    if not key:
        raise CdcDecodeError("invalid_transaction", f"transaction id {tx_id!r} names no transaction")
    return key, order


def transaction_key(tx_id: str) -> str:
    """One id for a transaction's BEGIN, changes and END.

    PostgreSQL's ids are ``txId:LSN`` and the LSN differs between BEGIN, the changes and END: the
    transaction is the part before the colon. MariaDB's (a GTID, or ``file=...,pos=...``) hold no colon.
    """
    return tx_id.partition(":")[0]
