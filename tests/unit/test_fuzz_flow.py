"""Fuzzing the whole dataflow in-process: a hostile stream in, no crash, every input accounted once.

A seeded generator (``tests/hostile_inputs.py``) writes structure-aware hostile inputs: Debezium
envelopes with wrong types, missing fields, negative or huge quantities, unknown SKUs, locations and
UPCs, far-past and far-future times, deep and huge JSON, transactions whole or broken, reservations
of every kind with odd values, wish-list events, repairs; repeated and reordered. The flow must finish, its input
ledger must count each offset exactly once (``inputs = used + dead_lettered`` per partition, the
dead-lettered being exactly the inputs some dead letter names), and no record may promise less than
nothing or more than is on hand.

The quick profile runs in the normal suite; ``ATP_FLOW_FUZZ_INPUTS`` sets the number of inputs of
the long one (e.g. ``ATP_FLOW_FUZZ_INPUTS=100000 .venv/bin/python -m pytest tests/unit/test_fuzz_flow.py``).
"""

from __future__ import annotations

import datetime as dt
import os
import time

from bytewax.testing import TestingSink, TestingSource, run_main
from prometheus_client import REGISTRY

from atp.domain.back_in_stock import BackInStockNotice
from atp.domain.channels import ChannelRecord
from atp.domain.records import AvailabilityRecord, DeadLetter
from atp.domain.rules import PREORDER
from atp.domain.transactions import INCOMPLETE_TRANSACTION, OVERSIZED_TRANSACTION
from atp.settings import settings_from_fields
from flows.process import availability_flow
from tests.hostile_inputs import Generator, Stream

INPUTS = int(os.environ.get("ATP_FLOW_FUZZ_INPUTS", "5000"))
# A run of the long profile is cut in parts of this many inputs, each a flow of its own (a fresh seed).
PART = 100_000


_REPORTS_ON_USED_INPUTS = (INCOMPLETE_TRANSACTION, OVERSIZED_TRANSACTION)


def accounted(topic: str, partition: int) -> tuple[int, int]:
    def value(outcome: str) -> int:
        labels = {"topic": topic, "partition": str(partition), "outcome": outcome}
        return int(REGISTRY.get_sample_value("atp_inputs_accounted", labels) or 0)

    return value("used"), value("dead_lettered")


def run(stream: Stream) -> list:
    out: list = []
    config = settings_from_fields(
        low_stock_threshold=2, unresolved_wait_s=0, tx_wait_s=1, tx_max_changes=4, fulfil_grace_s=1
    )
    source = TestingSource(stream.messages, batch_size=64)
    run_main(availability_flow(config, source, TestingSink(out)), epoch_interval=dt.timedelta(milliseconds=10))
    return out


def check(stream: Stream, out: list) -> None:
    named: dict[tuple[str, int], set[int]] = {}
    for letter in out:
        if isinstance(letter, DeadLetter) and letter.reason not in _REPORTS_ON_USED_INPUTS and letter.offset >= 0:
            named.setdefault((letter.source_topic, letter.partition), set()).add(letter.offset)
    for (topic, partition), offsets in stream.offsets.items():
        used, dead = accounted(topic, partition)
        assert used + dead == len(offsets), (topic, partition, used, dead, len(offsets))
        assert dead == len(named.get((topic, partition), ())), (topic, partition, used, dead)
    for record in out:
        if isinstance(record, AvailabilityRecord):  # a preorder-only item promises its inbound supply too
            supply = record.on_hand + (record.incoming if record.status == PREORDER else 0)
            assert 0 <= record.available <= supply, record
        elif isinstance(record, ChannelRecord):
            assert record.available >= 0, record
    notices = [(r.channel, r.channel_sku, r.wish_id) for r in out if isinstance(r, BackInStockNotice)]
    assert len(notices) == len(set(notices)), "a wish is told at most once"
    assert all(r.version == 1 and r.available > 0 for r in out if isinstance(r, BackInStockNotice))


def fuzz(inputs: int, seed: int, partition_base: int) -> tuple[int, int]:
    """Runs ``inputs`` hostile inputs through the flow and checks them; (messages delivered, dead letters)."""
    stream = Generator(seed, partition_base).stream(inputs)
    out = run(stream)
    check(stream, out)
    return len(stream.messages), sum(isinstance(r, DeadLetter) for r in out)


def test_a_hostile_stream_through_the_whole_flow_crashes_nothing_and_each_input_is_counted_once():
    started = time.monotonic()
    delivered = letters = 0
    for part, start in enumerate(range(0, INPUTS, PART)):
        more, dead = fuzz(min(PART, INPUTS - start), seed=1_000 + part, partition_base=100 + 4 * part)
        delivered, letters = delivered + more, letters + dead
    elapsed = time.monotonic() - started
    print(f"flow fuzz: {INPUTS} inputs, {delivered} delivered, {letters} dead letters, 0 crashes, {elapsed:.1f} s")
