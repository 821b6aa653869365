"""What one epoch publishes: the last record of each key, and every dead letter.

The engine's steps change state as inputs reach them, and a source transaction's
inputs reach different keys and steps (a kit after each of its components, a
channel's sum after each location) at different moments within the epoch it was
released in. Only when the epoch closes has every step applied every transaction
released in it, and so only then is each key's latest record a state that a
committed prefix of each source had. An :class:`EpochBatch` collects an epoch's
outputs and gives back, at its close, one record per key (its latest); within an
epoch a key's records share one version (the steps open it at the key's first
change in the epoch), so the versions published stay 1, 2, 3, ... per key.

- An alert belongs to the record it was raised with: a later record of the same
  key replaces it (and raises its own, if the key crossed a line since the epoch
  began); a withdrawn key takes its alert with it.
- :class:`~atp.domain.records.Withdrawn` drops a key that ended the epoch where it began.
- Dead letters are events, not states: each is published.
"""

from __future__ import annotations

from atp.domain.back_in_stock import NOTICE_KIND, BackInStockNotice
from atp.domain.channels import ChannelRecord
from atp.domain.promotable import PROMOTABLE_KIND, PromotableRecord
from atp.domain.records import (
    AVAILABILITY_KIND,
    CHANNEL_KIND,
    AlertRecord,
    AvailabilityRecord,
    DeadLetter,
    Withdrawn,
)

Published = AvailabilityRecord | AlertRecord | DeadLetter | ChannelRecord | PromotableRecord | BackInStockNotice
EpochOutput = Published | Withdrawn

_ALERT = "alert"


def batch_key(output: EpochOutput) -> str:
    """The key an output is collected under: all outputs that may replace each other share it."""
    if isinstance(output, AvailabilityRecord | AlertRecord):
        return output.key
    if isinstance(output, ChannelRecord | PromotableRecord):
        return f"{output.channel}/{output.channel_sku}"
    if isinstance(output, BackInStockNotice):
        return output.batch_key
    if isinstance(output, Withdrawn):
        return output.key
    return f"{output.source_topic}:{output.partition}:{output.offset}"


class EpochBatch:
    """The outputs of one epoch so far (of one partition of the publisher)."""

    __slots__ = ("_latest", "_letters")

    def __init__(self) -> None:
        self._latest: dict[tuple[str, str], Published] = {}
        self._letters: list[DeadLetter] = []

    def add(self, output: EpochOutput) -> None:
        latest = self._latest
        if isinstance(output, AvailabilityRecord):
            latest.pop((_ALERT, output.key), None)
            latest[(AVAILABILITY_KIND, output.key)] = output
        elif isinstance(output, AlertRecord):
            latest[(_ALERT, output.key)] = output
        elif isinstance(output, ChannelRecord):
            latest[(CHANNEL_KIND, f"{output.channel}/{output.channel_sku}")] = output
        elif isinstance(output, PromotableRecord):
            latest[(PROMOTABLE_KIND, f"{output.channel}/{output.channel_sku}")] = output
        elif isinstance(output, BackInStockNotice):
            latest[(NOTICE_KIND, output.batch_key)] = output
        elif isinstance(output, Withdrawn):
            latest.pop((output.topic_kind, output.key), None)
            latest.pop((_ALERT, output.key), None)
        else:
            self._letters.append(output)

    def close(self) -> list[Published]:
        """Everything the epoch publishes, and an empty batch for the next one."""
        out: list[Published] = [*self._letters, *self._latest.values()]
        self._latest = {}
        self._letters = []
        return out
