"""Has a shipment left on-hand yet? Read from the history of a location's stock levels.

After a FULFILL the units stay deducted until the location's on-hand is seen to
fall by them. "Seen to fall" must survive CDC that arrives late or out of order:
a fall that really happened *before* the shipment (a sale, delivered late) is
not its decrement. So the question is asked of the stock history ordered by
source position, not of the last two changes that happened to arrive:

- the *baseline* of a shipment is the last level committed before it shipped;
- it has left when some later level is below the baseline by its units, plus the
  units of earlier shipments that left after the same baseline.

A late change inserted into the history can therefore also *undo* a match it
disproves, and the units count again until the real decrement is seen. Pure
functions over plain tuples: no clock, no I/O.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

from atp.domain.events import SourcePosition

# One stock level as the source committed it: (source position, commit time in epoch ms, on_hand).
Observation = tuple[SourcePosition, int, int]
# A shipment waiting for its decrement: (reservation id, fulfilled at epoch ms, units).
Shipment = tuple[str, int, int]


def record(history: list[Observation], forgotten_through: SourcePosition, observation: Observation) -> None:
    """Insert ``observation`` in source order; a re-delivered one (same position) is kept once.

    A level older than one already forgotten (see :func:`prune`) is not kept: levels between
    it and the present are gone, so it could pose as a shipment's baseline when a later,
    lower one really was (found by the property tests). Dropping it can only match less.
    """
    if forgotten_through and observation[0] <= forgotten_through:
        return
    positions = [o[0] for o in history]
    at = bisect.bisect_left(positions, observation[0])
    if at < len(history) and history[at][0] == observation[0]:
        return
    history.insert(at, observation)


def booked_out(history: list[Observation], shipments: Iterable[Shipment]) -> set[str]:
    """The shipments whose units the history shows leaving on-hand after they shipped (oldest first).

    A level committed in the same millisecond as the shipment (or the same second, for
    MariaDB's binlog) could be either side of it: it may lower the baseline but never
    counts as the fall, so a tie can only keep units deducted longer.
    """
    left: set[str] = set()
    claimed: list[tuple[int, int]] = []  # (fulfilled at, units) of shipments already matched
    for reservation_id, fulfilled_at, units in sorted(shipments, key=lambda s: (s[1], s[0])):
        before = _last_before(history, fulfilled_at)
        ties = [o[2] for o in history if o[1] == fulfilled_at]
        after = [o[2] for o in history if o[1] > fulfilled_at]
        candidates = ([history[before][2]] if before is not None else []) + ties
        if not candidates or not after:
            continue  # no level from before the shipment, or none after it: nothing proves it left
        baseline_at = history[before][1] if before is not None else fulfilled_at
        also_left = sum(u for shipped_at, u in claimed if shipped_at >= baseline_at)
        if min(candidates) - min(after) >= units + also_left:
            left.add(reservation_id)
            claimed.append((fulfilled_at, units))
    return left


def prune(history: list[Observation], pending_since_ms: int | None) -> SourcePosition | None:
    """Forget levels no pending shipment needs (the baseline of the oldest one onwards is kept, else the
    last level); returns the position of the newest level forgotten, if any."""
    if not history:
        return None
    keep_from = len(history) - 1
    if pending_since_ms is not None:
        before = _last_before(history, pending_since_ms)
        keep_from = 0 if before is None else min(keep_from, before)
    if keep_from == 0:
        return None
    forgotten = history[keep_from - 1][0]
    del history[:keep_from]
    return forgotten


def _last_before(history: list[Observation], shipped_at_ms: int) -> int | None:
    """Index of the last level (in source order) committed strictly before ``shipped_at_ms``."""
    found = None
    for index, (_, committed_at, _) in enumerate(history):
        if committed_at < shipped_at_ms:
            found = index
    return found
