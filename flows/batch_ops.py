"""The dataflow's stateless plumbing, one Python call per batch.

Bytewax's ``map``, ``flat_map``, ``filter``, ``filter_map``, ``key_rm`` and ``branch`` call Python once per
item (``flat_map`` through a generator chained per item), and an input event passes a few dozen of them on its
way: every route that a stream feeds is asked about every item, though most items go to none. These do the
same over the batch Bytewax hands ``flat_map_batch``, in one call and one list comprehension, so the plumbing
costs a loop iteration per item rather than a few Python calls (bench/results.md, the stage breakdown).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import bytewax.operators as op
from bytewax.dataflow import Stream

from flows.routing import Route

X = TypeVar("X")
Y = TypeVar("Y")


def each(step_id: str, up: Stream[X], fn: Callable[[X], Y]) -> Stream[Y]:
    """``op.map``, per batch."""
    return op.flat_map_batch(step_id, up, lambda items: [fn(item) for item in items])


def each_some(step_id: str, up: Stream[X], fn: Callable[[X], Y | None]) -> Stream[Y]:
    """``op.filter_map``, per batch: what ``fn`` returns, where it is not None."""
    return op.flat_map_batch(step_id, up, lambda items: [out for item in items if (out := fn(item)) is not None])


def each_many(step_id: str, up: Stream[X], fn: Callable[[X], Iterable[Y]]) -> Stream[Y]:
    """``op.flat_map``, per batch."""
    return op.flat_map_batch(step_id, up, lambda items: [out for item in items for out in fn(item)])


def routed(step_id: str, up: Stream[Any], route: Route) -> Stream[Any]:
    """The items of ``up`` that ``route`` names, under their key, for its keyed step."""
    return op.flat_map_batch(step_id, up, route.batch)


def values(step_id: str, up: Stream[tuple[str, X]]) -> Stream[X]:
    """``op.key_rm``, per batch."""
    return op.flat_map_batch(step_id, up, _values)


def _values(items: list[tuple[str, X]]) -> list[X]:
    return [value for _, value in items]


def split(step_id: str, up: Stream[Any], kind: type[X]) -> tuple[Stream[Any], Stream[X]]:
    """``op.branch`` on a type, per batch: (the items that are not a ``kind``, those that are)."""
    others = op.flat_map_batch(f"{step_id}_others", up, lambda items: [i for i in items if not isinstance(i, kind)])
    of_kind = op.flat_map_batch(f"{step_id}_of_kind", up, lambda items: [i for i in items if isinstance(i, kind)])
    return others, of_kind


def only(step_id: str, up: Stream[Any], kind: type[X]) -> Stream[X]:
    """The items of ``up`` that are a ``kind``."""
    return op.flat_map_batch(step_id, up, lambda items: [i for i in items if isinstance(i, kind)])


def kept(step_id: str, up: Stream[X], predicate: Callable[[X], bool]) -> Stream[X]:
    """``op.filter``, per batch."""
    return op.flat_map_batch(step_id, up, lambda items: [item for item in items if predicate(item)])
