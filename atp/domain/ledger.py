"""The input ledger: how every input message of one topic partition ended, used or dead-lettered.

It lives in the dataflow's state, which Bytewax snapshots together with the input
offsets, so after a crash the ledger and the offsets resume from the same epoch:
each offset is counted exactly once, and for a partition read to its end
``end offset - first offset = used + dead_lettered``. An offset it has already
counted (a re-read) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from atp.domain.compact import pickled_by_position

USED = "used"
DEAD_LETTERED = "dead_lettered"


@pickled_by_position
@dataclass(slots=True)
class InputLedger:
    topic: str
    partition: int
    used: int = 0
    dead_lettered: int = 0
    next_offset: int = -1  # the offset after the last one counted; -1 before the first

    def record(self, offset: int, dead_lettered: bool) -> bool:
        """Count the input at ``offset``; False if it was counted already."""
        if offset < self.next_offset:
            return False
        self.next_offset = offset + 1
        if dead_lettered:
            self.dead_lettered += 1
        else:
            self.used += 1
        return True

    @property
    def counted(self) -> int:
        return self.used + self.dead_lettered
