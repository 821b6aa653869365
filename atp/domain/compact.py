"""State classes pickle by position: ``(cls, (field values...))``.

A key's state is pickled at every epoch it changed in (its recovery snapshot, and the form it
rests in between epochs), and unpickled whenever it wakes. The pickling a slotted dataclass gets
by default goes through ``__getstate__``/``__setstate__`` written in Python, each calling
``dataclasses.fields()``; by position it is about twice as fast to pickle, 1.6 times as fast to
unpickle and a third smaller (a SKU with 22 locations: 41 vs 84 us, 132 vs 207 us, 2.0 vs 3.0 KB;
bench/results.md). Unpickling calls the class with every field, so a class must take all its
fields in ``__init__`` (no ``init=False``), in declaration order. Changing a state class's fields
changes the recovery format (flows/state_format.py, ``STATE_FORMAT``), as it did before.

The pickler writes plain tuples, dicts and lists in C but calls back into Python for each object
of any other class, so what a state holds many of is kept as plain data where it can be (the
published figures are plain tuples: atp.domain.published_availability). A class can also name a
dict field whose values are objects of another class pickled by position (``inline``): the field
is written as a dict of their field values, one call into Python for the whole dict rather than
one per value (a SKU's locations: a third off the SKU's pickling time on the bench's workload).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


@overload
def pickled_by_position(cls: type[T], /) -> type[T]: ...


@overload
def pickled_by_position(*, inline: tuple[str, type]) -> Callable[[type[T]], type[T]]: ...


def pickled_by_position(
    cls: type[T] | None = None, /, *, inline: tuple[str, type] | None = None
) -> type[T] | Callable[[type[T]], type[T]]:
    """Pickle a dataclass as its field values; ``inline``: (a dict field, the class pickled by position of its
    values) to write that dict's values as their field values."""

    def decorate(cls: type[T]) -> type[T]:
        _by_position(cls, inline)
        return cls

    return decorate if cls is None else decorate(cls)


def _by_position(cls: type[Any], inline: tuple[str, type] | None) -> None:
    names = tuple(field.name for field in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    values: Callable[[Any], tuple[Any, ...]] = get if len(names) > 1 else (lambda obj: (get(obj),))
    setattr(cls, _VALUES, staticmethod(values))
    if inline is None:

        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return cls, values(self)

    else:
        name, member = inline
        index = names.index(name)
        member_values: Callable[[Any], tuple[Any, ...]] = getattr(member, _VALUES)

        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            fields = values(self)
            members = {key: member_values(value) for key, value in fields[index].items()}
            return with_members, (cls, index, member, (*fields[:index], members, *fields[index + 1 :]))

    setattr(cls, "__reduce__", __reduce__)  # noqa: B010 (a method set on an existing class)


# Where a class pickled by position keeps the function that reads its field values.
_VALUES = "_position_values"


def with_members(cls: Callable[..., T], index: int, member: Callable[..., Any], fields: tuple[Any, ...]) -> T:
    """An object pickled with its members inlined (``inline``): what unpickling calls, so module-level."""
    members = {key: member(*values) for key, values in fields[index].items()}
    return cls(*fields[:index], members, *fields[index + 1 :])
