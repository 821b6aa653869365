"""Store sales for the dynamic safety stock rule: a POS ``sale_line`` joined to its ticket's store.

``sale_line`` has no store; its ``sale_ticket`` does, and the two arrive as
separate change streams in no particular order. Keyed by ticket, a line waits
until its ticket is known. What is passed on is always a *difference* in units
counted, so an updated line, a deleted line or a ticket that is voided corrects
what was counted before instead of counting twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atp.domain.compact import pickled_by_position
from atp.domain.events import Provenance, SaleLineChanged, SaleRecorded, SaleTicketChanged, SourcePosition

VOID = "VOID"


@pickled_by_position
@dataclass(slots=True)
class SaleLine:
    upc: str
    qty: int
    position: SourcePosition
    provenance: Provenance
    counted: int = 0  # units already passed on for this line
    counted_upc: str = ""


@pickled_by_position
@dataclass(slots=True)
class TicketState:
    ticket_id: int
    store: str | None = None
    void: bool = False
    position: SourcePosition = ()
    lines: dict[int, SaleLine] = field(default_factory=dict)

    def apply(self, change: SaleTicketChanged | SaleLineChanged) -> list[SaleRecorded]:
        if isinstance(change, SaleTicketChanged):
            if change.position < self.position:
                return []
            self.position = change.position
            self.store = None if change.deleted else change.store
            self.void = change.deleted or change.status == VOID
            return [sale for line_no in sorted(self.lines) for sale in self._settle(line_no, change.provenance)]
        known = self.lines.get(change.line_no)
        if known is not None and change.position < known.position:
            return []
        qty = 0 if change.deleted else change.qty
        if known is None:
            self.lines[change.line_no] = SaleLine(change.upc, qty, change.position, change.provenance)
        else:
            known.upc, known.qty, known.position, known.provenance = change.upc, qty, change.position, change.provenance
        return self._settle(change.line_no, change.provenance)

    def _settle(self, line_no: int, provenance: Provenance) -> list[SaleRecorded]:
        """Pass on what this line should count now, less what it already counted."""
        line = self.lines[line_no]
        if self.store is None:
            return []
        should_count = 0 if self.void else line.qty
        out = []
        if line.counted and line.counted_upc != line.upc:  # the line now names another item: move its units
            out.append(SaleRecorded(line.counted_upc, self.store, -line.counted, provenance.source_ts_ms, provenance))
            line.counted = 0
        if should_count != line.counted:
            delta = should_count - line.counted
            out.append(SaleRecorded(line.upc, self.store, delta, provenance.source_ts_ms, provenance))
            line.counted, line.counted_upc = should_count, line.upc
        return out
