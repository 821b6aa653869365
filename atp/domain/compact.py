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
published figures are plain tuples: atp.domain.published_availability). A class can also name
one field written as something else (``encoded``): a SKU's locations are written as the pickles
each kept since it last changed (atp.domain.location_state.Locations), so a SKU whose one location
changed in an epoch does not pickle its twenty others again.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")


# (a field, how its value is written, and the module-level function that reads it back from that).
Encoding = tuple[str, Callable[[Any], Any], Callable[[Any], Any]]


@overload
def pickled_by_position(cls: type[T], /) -> type[T]: ...


@overload
def pickled_by_position(*, encoded: Encoding) -> Callable[[type[T]], type[T]]: ...


def pickled_by_position(
    cls: type[T] | None = None, /, *, encoded: Encoding | None = None
) -> type[T] | Callable[[type[T]], type[T]]:
    """Pickle a dataclass as its field values, one of them (``encoded``) written as something else."""

    def decorate(cls: type[T]) -> type[T]:
        _by_position(cls, encoded)
        return cls

    return decorate if cls is None else decorate(cls)


def _by_position(cls: type[Any], encoded: Encoding | None) -> None:
    names = tuple(field.name for field in dataclasses.fields(cls))
    get = operator.attrgetter(*names)
    values: Callable[[Any], tuple[Any, ...]] = get if len(names) > 1 else (lambda obj: (get(obj),))
    if encoded is None:

        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            return cls, values(self)

    else:
        name, encode, decode = encoded
        index = names.index(name)

        def __reduce__(self: Any) -> tuple[Any, tuple[Any, ...]]:
            fields = values(self)
            return with_decoded, (cls, index, decode, (*fields[:index], encode(fields[index]), *fields[index + 1 :]))

    setattr(cls, "__reduce__", __reduce__)  # noqa: B010 (a method set on an existing class)


def with_decoded(cls: Callable[..., T], index: int, decode: Callable[[Any], Any], fields: tuple[Any, ...]) -> T:
    """An object one of whose fields was pickled encoded (``encoded``): what unpickling calls, so module-level."""
    return cls(*fields[:index], decode(fields[index]), *fields[index + 1 :])
