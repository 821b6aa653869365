"""How a keyed step keeps its keys between epochs: hot keys stay unpickled, the rest rest as bytes."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field

import pytest

from flows import keyed
from flows.keyed import KeyedLogic


@dataclass
class Tally:
    units: list[int] = field(default_factory=list)


class Tallies(KeyedLogic[Tally, int, int]):
    STEP = "tallies"

    def create(self, key: str) -> Tally:
        return Tally()

    def apply(self, state: Tally, value: int, now_ms: int) -> list[int]:
        state.units.append(value)
        return [sum(state.units)]


def tallies(count: int) -> list[Tallies]:
    return [Tallies(None, lambda: 0) for _ in range(count)]


def test_a_key_woken_in_the_next_epoch_goes_on_without_being_unpickled(monkeypatch: pytest.MonkeyPatch):
    logic = tallies(1)[0]
    logic.on_batch([("sku-1", 2)])
    logic.snapshot()
    unpickled = []
    monkeypatch.setattr(keyed.pickle, "loads", lambda data: unpickled.append(data) or pickle.loads(data))
    out, _ = logic.on_batch([("sku-1", 3)])
    assert list(out) == [5]
    assert unpickled == []


def test_what_a_key_snapshots_never_changes_with_what_it_does_later():
    logic = tallies(1)[0]
    logic.on_batch([("sku-1", 2)])
    first = logic.snapshot()
    logic.on_batch([("sku-1", 3)])
    second = logic.snapshot()
    assert pickle.loads(first[2]) == Tally([2])
    assert pickle.loads(second[2]) == Tally([2, 3])


def test_beyond_the_awake_keys_the_least_recently_snapshotted_rest_as_bytes(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(keyed, "AWAKE_KEYS", 3)
    monkeypatch.setattr(keyed, "_awake", type(keyed._awake)())  # this test's own set of awake keys
    logics = tallies(5)
    for number, logic in enumerate(logics):
        logic.on_batch([(f"sku-{number}", number)])
        logic.snapshot()
    assert [logic._live is not None for logic in logics] == [False, False, True, True, True]
    out, _ = logics[0].on_batch([("sku-0", 10)])  # a resting key wakes from its bytes, state intact
    assert list(out) == [10]


def test_a_key_changed_again_before_its_snapshot_is_never_put_to_rest_by_another_keys_snapshot(
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(keyed, "AWAKE_KEYS", 1)
    monkeypatch.setattr(keyed, "_awake", type(keyed._awake)())
    hot, other = tallies(2)
    hot.on_batch([("sku-hot", 1)])
    hot.snapshot()
    hot.on_batch([("sku-hot", 2)])  # the next epoch: changed, its snapshot still to come
    other.on_batch([("sku-other", 5)])
    other.snapshot()  # pushes the hot key out of the awake set before the hot key's own snapshot
    assert pickle.loads(hot.snapshot()[2]) == Tally([1, 2])


class ReadMostly(Tallies):
    """Tallies where a 0 only reads the tally (it sums what is there)."""

    def apply(self, state: Tally, value: int, now_ms: int) -> list[int]:
        if value:
            state.units.append(value)
        return [sum(state.units)]

    def leaves_unchanged(self, state: Tally, value: int) -> bool:
        return value == 0


def test_a_key_whose_epoch_only_read_it_snapshots_the_bytes_it_rested_as_without_pickling_again(
    monkeypatch: pytest.MonkeyPatch,
):
    logic = ReadMostly(None, lambda: 0)
    logic.on_batch([("sku-1", 2)])
    rested = logic.snapshot()[2]
    pickled = []
    dumps = pickle.dumps
    monkeypatch.setattr(keyed.pickle, "dumps", lambda *a, **k: pickled.append(a) or dumps(*a, **k))
    out, _ = logic.on_batch([("sku-1", 0), ("sku-1", 0)])
    assert list(out) == [2, 2]
    assert logic.snapshot()[2] is rested and pickled == []
    out, _ = logic.on_batch([("sku-1", 0), ("sku-1", 4)])  # one input of the epoch changed it: pickled again
    assert list(out) == [2, 6]
    assert pickle.loads(logic.snapshot()[2]) == Tally([2, 4]) and len(pickled) == 1


def test_a_new_key_is_pickled_even_when_its_first_input_only_reads_it():
    logic = ReadMostly(None, lambda: 0)
    logic.on_batch([("sku-1", 0)])
    assert pickle.loads(logic.snapshot()[2]) == Tally([])
