"""Personal data never leaves the pipeline: masking for anything we keep or log.

The POS connector already excludes ``customer_email`` and ``loyalty_id`` at the
source (Debezium ``column.exclude.list``); this is the second line of defence
for payloads we dead-letter and for reservation events (``customer_ref``).
"""

from __future__ import annotations

import re
from typing import Any

# customer_ref_sha256 (a wish-list deletion request) is a pseudonym of a customer ref: masked like one.
PERSONAL_FIELDS = frozenset({"customer_email", "loyalty_id", "customer_ref", "customer_ref_sha256"})
MASK = "***"

# Bounded repeats (an address's local part is at most 64 characters, its domain at most 255): with open-ended
# ones, a long run of letters without an ``@`` took time quadratic in its length (64 KiB: 2.7 s; 2 MB: hours).
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,255}\.[A-Za-z]{2,63}")
# A personal field inside text we could not parse: mask its value up to the next quote.
_FIELD_IN_TEXT = re.compile(
    rb'("(?:customer_email|loyalty_id|customer_ref|customer_ref_sha256)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\s]+)'
)


# Deeper than this, a container is masked whole: unread, so the recursion is bounded whatever the input.
MAX_MASK_DEPTH = 64


def mask_personal_data(value: Any, depth: int = 0) -> Any:
    """A copy of ``value`` with every personal field's value replaced by a mask; a container nested deeper than
    ``MAX_MASK_DEPTH`` is replaced by the mask whole (it could hold personal data, and walking it has no end)."""
    if isinstance(value, dict | list) and depth >= MAX_MASK_DEPTH:
        return MASK
    if isinstance(value, dict):
        return {
            k: (MASK if k in PERSONAL_FIELDS and v is not None else mask_personal_data(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_personal_data(v, depth + 1) for v in value]
    return value


def mask_raw_payload(raw: bytes) -> bytes:
    """Mask personal data in bytes we could not parse: known fields and anything shaped like an email."""
    masked = _FIELD_IN_TEXT.sub(rb'\1"' + MASK.encode() + rb'"', raw)
    return _EMAIL.sub(MASK.encode(), masked)
