"""JSON input parsed safely: every input topic's decoder (and the masking of dead letters) reads JSON through here.

Our inputs are shallow: a Debezium envelope nests four levels deep, a reservation one, a repair three. A
hostile or broken producer can send far deeper JSON, and that is not only useless but dangerous: orjson
parses a million nested ``[`` by recursion and overflows the C stack (a segmentation fault: no Python
handler can catch it), and what it does parse, Python code walking it (masking, ``repr`` in an error
text) meets ``RecursionError``. So the nesting is measured on the raw bytes *before* parsing, and a
message nested deeper than :data:`MAX_JSON_DEPTH` is refused with its own reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError

from atp.errors import InputError

MAX_JSON_DEPTH = 32
TOO_DEEP = "too_deeply_nested"

# The bytes that matter to nesting: brackets, and the quotes and backslashes that say whether one is inside a string.
_SPECIAL = re.compile(rb'[\[\]{}"\\]')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPENING, _CLOSING = frozenset(b"[{"), frozenset(b"]}")


def nesting_depth_over(value: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value`` (JSON, or anything) opens more than ``limit`` brackets at once; stops as soon as it does.

    Linear in the length of ``value`` (one pass over its special bytes, no backtracking), and free for the
    common case: a message with no more than ``limit`` brackets in all cannot nest deeper than that.
    """
    if value.count(b"[") + value.count(b"{") <= limit:
        return False
    depth, in_string, escaped_until = 0, False, -1
    for match in _SPECIAL.finditer(value):
        at = match.start()
        if at < escaped_until:
            continue  # the character after a backslash in a string
        byte = value[at]
        if in_string:
            if byte == _BACKSLASH:
                escaped_until = at + 2
            elif byte == _QUOTE:
                in_string = False
        elif byte == _QUOTE:
            in_string = True
        elif byte in _OPENING:
            depth += 1
            if depth > limit:
                return True
        elif byte in _CLOSING:
            depth -= 1
    return False


def parse_json(value: bytes) -> Any:
    """``value`` parsed, or an :class:`InputError`: ``too_deeply_nested``, or ``unparsable_json`` (not JSON,
    not UTF-8, NaN or infinity, a number too large for a double)."""
    if nesting_depth_over(value):
        raise InputError(TOO_DEEP, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise InputError("unparsable_json", str(exc)) from exc


Message = TypeVar("Message", bound=BaseModel)


def validated_message(
    value: bytes | None, model: type[Message], what: str, reason_by_field: Mapping[str, str]
) -> Message:
    """One JSON object message validated by ``model``, or an :class:`InputError` whose reason is
    ``reason_by_field`` of the first field that failed (``invalid_field`` otherwise). ``what`` names the
    message in the error ("a reservation message")."""
    if value is None or not value.strip():
        raise InputError("empty_message", f"{what} without a value")
    doc = parse_json(value)
    if not isinstance(doc, dict):
        raise InputError("not_an_object", f"expected a JSON object, got {type(doc).__name__}")
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        # The text names the field and the rule, never the value: it could be personal data.
        raise InputError(reason_by_field.get(field, "invalid_field"), f"{field}: {first['msg']}") from exc
