"""Column values as Debezium encodes them, turned into domain values.

Encodings we rely on (connector settings in ``connectors.cdc_connectors``):
- MariaDB ``DECIMAL`` -> string ("12.000"), because ``decimal.handling.mode=string``;
  the default (``precise``) would be base64 bytes whose scale lives only in the schema.
- MariaDB ``DATETIME(3)`` -> epoch milliseconds of the wall-clock value read as UTC
  (the column has no zone); ``DATE`` -> days since 1970-01-01.
- PostgreSQL ``timestamp without time zone`` -> epoch microseconds, read as UTC likewise;
  ``timestamptz`` -> ISO-8601 string.
- ``CHAR(n)`` may arrive space-padded: codes are trimmed.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from atp.domain.time_window import IMPLAUSIBLE_TIMESTAMP, day_problem
from atp.errors import CdcDecodeError

# Quantities beyond this are not stock counts but corrupt data (and would overflow an Avro long downstream).
MAX_QUANTITY = 10**12


def required(row: dict[str, Any], column: str) -> Any:
    if column not in row:
        raise CdcDecodeError("missing_column", f"column {column} is missing")
    value = row[column]
    if value is None:
        raise CdcDecodeError("null_column", f"column {column} is null")
    return value


def code(row: dict[str, Any], column: str) -> str:
    """A CHAR/VARCHAR code, trimmed of the padding CHAR columns carry."""
    value = required(row, column)
    if not isinstance(value, str):
        raise CdcDecodeError("wrong_type", f"column {column} should be text, got {type(value).__name__}")
    trimmed = value.strip()
    if not trimmed:
        raise CdcDecodeError("empty_code", f"column {column} is blank")
    return trimmed


def optional_code(row: dict[str, Any], column: str) -> str | None:
    value = row.get(column)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CdcDecodeError("wrong_type", f"column {column} should be text, got {type(value).__name__}")
    return value.strip() or None


def whole_units(row: dict[str, Any], column: str) -> int:
    """A stock quantity in whole units, never negative: DECIMAL strings or INT numbers."""
    value = required(row, column)
    if isinstance(value, bool):
        raise CdcDecodeError("wrong_type", f"column {column} should be a number, got bool")
    if isinstance(value, int):
        units = value
    elif isinstance(value, str | float):
        try:
            exact = Decimal(value) if isinstance(value, str) else Decimal(repr(value))
        except InvalidOperation as exc:
            raise CdcDecodeError("wrong_type", f"column {column} is not a number: {value!r}") from exc
        if not exact.is_finite():
            raise CdcDecodeError("wrong_type", f"column {column} is not finite: {value!r}")
        if exact != exact.to_integral_value():
            raise CdcDecodeError("fractional_quantity", f"column {column} is {value}, not whole units")
        if exact > MAX_QUANTITY:  # before int(): "1e999999" would take minutes to become an int
            raise CdcDecodeError("quantity_out_of_range", f"column {column} is {value}")
        if exact < 0:
            raise CdcDecodeError("negative_quantity", f"column {column} is {value}")
        units = int(exact)
    else:
        raise CdcDecodeError("wrong_type", f"column {column} should be a number, got {type(value).__name__}")
    if units < 0:
        raise CdcDecodeError("negative_quantity", f"column {column} is {units}")
    if units > MAX_QUANTITY:
        raise CdcDecodeError("quantity_out_of_range", f"column {column} is {units}")
    return units


def whole_number(row: dict[str, Any], column: str) -> int:
    """An INT column (a count or a line number), which may be negative: the caller decides what is valid."""
    value = required(row, column)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CdcDecodeError("wrong_type", f"column {column} should be an integer, got {type(value).__name__}")
    return value


def flag(row: dict[str, Any], column: str, allowed: frozenset[str]) -> str:
    value = code(row, column)
    if value not in allowed:
        raise CdcDecodeError("unknown_code", f"column {column} is {value!r}, expected one of {sorted(allowed)}")
    return value


def epoch_days(row: dict[str, Any], column: str) -> int | None:
    """A DATE column (Debezium ``io.debezium.time.Date``: days since the epoch)."""
    value = row.get(column)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise CdcDecodeError("wrong_type", f"column {column} should be days since epoch, got {value!r}")
    return value


def plausible_day(row: dict[str, Any], column: str, fail_safe: object) -> int | None:
    """A DATE column within the dates a lot or a purchase order may carry (:mod:`atp.domain.time_window`); outside
    them, the row is dead-lettered (``implausible_timestamp``) and ``fail_safe`` applied instead."""
    day = epoch_days(row, column)
    problem = None if day is None else day_problem(day)
    if problem is not None:
        raise CdcDecodeError(IMPLAUSIBLE_TIMESTAMP, f"column {column} {problem}", fail_safe=(fail_safe,))
    return day


def units_or_zero_the_row(row: dict[str, Any], column: str, zeroed: object) -> int:
    """A stock quantity; if it is unusable, the row is dead-lettered *and* counts as empty.

    Keeping the last good value instead would go on promising stock the system of
    record no longer claims: zero is the only value that cannot over-promise.
    """
    return units_or_fail_safe(row, column, zeroed)


def units_or_fail_safe(row: dict[str, Any], column: str, fail_safe: object) -> int:
    """A quantity; if it is unusable (missing, retyped, negative...), the row is dead-lettered and
    ``fail_safe`` (an event the caller chose because it cannot over-promise) is applied instead."""
    try:
        return whole_units(row, column)
    except CdcDecodeError as exc:
        raise CdcDecodeError(exc.reason, exc.detail, fail_safe=(fail_safe,)) from exc
