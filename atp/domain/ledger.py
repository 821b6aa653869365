"""The input ledger: how every input message of one topic partition ended, used or dead-lettered.

It lives in the dataflow's state, which Bytewax snapshots together with the input
offsets, so after a crash the ledger and the offsets resume from the same epoch:
each offset is counted exactly once, and for a partition read to its end
``end offset - first offset = used + dead_lettered``. An offset it has already
counted (a re-read) changes nothing.

An input is counted when it is decoded; one that a step of the engine dead-letters
later (a reservation whose location never became known, stock for a SKU the ERP
never described, an input a step failed on) is then moved from used to dead-lettered
(:meth:`InputLedger.correct`). The ledger remembers the offsets it counted as
dead-lettered (the last ``REMEMBERED_LETTERS``), so a second dead letter for the same
input (a replay after a restart, a kit's reservation dead-lettered for each of its
parts) moves nothing, and a correction that reaches it before the input's own count
makes that count dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from atp.domain.compact import pickled_by_position

USED = "used"
DEAD_LETTERED = "dead_lettered"
# Not an outcome of its own: an input counted as used that a step dead-lettered later.
DEAD_LETTERED_LATER = "dead_lettered_later"

# Dead-lettered offsets remembered per partition: the later dead letters of one input come within its waits
# (minutes), and dead letters are rare (an alert fires above 1 % of inputs); about 5 bytes each in the pickle.
REMEMBERED_LETTERS = 10_000


@pickled_by_position
@dataclass(slots=True)
class InputLedger:
    topic: str
    partition: int
    used: int = 0
    dead_lettered: int = 0
    next_offset: int = -1  # the offset after the last one counted; -1 before the first
    # Offsets counted as dead-lettered, or to be counted so when they come (oldest first, bounded).
    letters: dict[int, None] = field(default_factory=dict)

    def record(self, offset: int, dead_lettered: bool) -> bool:
        """Count the input at ``offset``; False if it was counted already."""
        if offset < self.next_offset:
            return False
        self.next_offset = offset + 1
        if dead_lettered or (self.letters and offset in self.letters):
            self.dead_lettered += 1
            self._remember(offset)
        else:
            self.used += 1
        return True

    def correct(self, offset: int) -> bool:
        """The input at ``offset`` was dead-lettered after it was counted: move it from used; False if no change."""
        if offset in self.letters:  # dead-lettered when decoded, or moved already
            return False
        self._remember(offset)
        if offset >= self.next_offset or self.used == 0:  # not counted yet: it will be, as dead-lettered
            return False
        self.used -= 1
        self.dead_lettered += 1
        return True

    def _remember(self, offset: int) -> None:
        letters = self.letters
        letters[offset] = None
        if len(letters) > REMEMBERED_LETTERS:
            del letters[next(iter(letters))]

    @property
    def counted(self) -> int:
        return self.used + self.dead_lettered
