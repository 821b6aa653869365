"""One input message as the engine receives it: what it said, or why it cannot be used.

The adapters that read Kafka (``connectors.inputs``) make these; the engine routes them
(``flows.routing``). Every message becomes exactly one ``Read``: its events are used, or its
dead letter says why not, or both (a dead letter may carry a fail-safe event).
"""

from __future__ import annotations

from dataclasses import dataclass

from atp.domain.events import Event
from atp.domain.records import DeadLetter
from atp.domain.transactions import TxBoundary


@dataclass(frozen=True, slots=True)
class Decoded:
    events: list[Event]
    dead_letter: DeadLetter | None = None
    transaction: tuple[str, int] | None = None  # (id, place in it) of a change message that is part of one
    boundary: TxBoundary | None = None  # a record of a transaction topic


@dataclass(frozen=True, slots=True)
class Read:
    """One input message, decoded: where it came from, and what it said (or why it cannot be used).

    ``source`` is the source database whose commit order the message's transaction takes its place
    in (``erp``, ``pos``); empty for inputs that are not a source's changes (reservations, repairs).
    """

    topic: str
    partition: int
    offset: int
    decoded: Decoded
    source: str = ""
