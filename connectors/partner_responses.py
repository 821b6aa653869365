"""Reading a partner's answer to an inventory-update call: which updates it took, which to send again, which it refused.

An HTTP 2xx is not enough: Shopify's GraphQL answers 200 with ``userErrors`` naming the quantities it refused
(and top-level ``errors``, e.g. ``THROTTLED``), and eBay's ``bulk_update_price_quantity`` answers 200 or 207 with
a ``statusCode`` per SKU. One pure function per platform (the shapes of :mod:`connectors.partner_payloads`) reads
the status, headers and body of one answer and returns one :class:`Outcome` per update sent, in the order sent:

- ``delivered``: the partner took it;
- ``retry``: send it again; transient (throttled, a server error, an answer we could not read) within the retry
  budget, or ``not_applied``: the partner refused the request for *another* update of it and applied none, so
  this one is sent again at once without the refused one;
- ``rejected``: the partner refused this update for good; its reason goes to the dead letter.

Amazon's listings feed, Magento's source items and our own JSON carry no per-item answer: any 2xx is delivered.
Bodies are read bounded: at most :data:`MAX_RESPONSE_BYTES`, nested at most as deep as
:func:`connectors.json_input.parse_json` allows; the partner's messages are cut to :data:`MAX_REASON_CHARS` and
anything shaped like an email address is masked, so a dead letter never carries a partner's echo of personal data.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atp.errors import InputError
from atp.privacy import mask_raw_payload
from connectors.json_input import parse_json
from connectors.partner_payloads import ChannelUpdate

MAX_RESPONSE_BYTES = 1 << 20  # a userError per quantity for 250 quantities is ~60 KiB
MAX_REASON_CHARS = 300

DELIVERED, RETRY, REJECTED = "delivered", "retry", "rejected"
# Why an update was not delivered (the metrics' reason classes).
THROTTLED, SERVER_ERROR, UNREACHABLE, UNREADABLE = "throttled", "server_error", "unreachable", "unreadable"
NOT_APPLIED, REFUSED = "not_applied", "refused"

# Shopify userError codes whose message says to try again; every other userError is the data refused.
SHOPIFY_TRANSIENT_CODES = frozenset({"IDEMPOTENCY_CONCURRENT_REQUEST", "SET_ON_HAND_QUANTITIES_FAILED"})
SHOPIFY_RETRIED_ERRORS = {"THROTTLED": THROTTLED, "INTERNAL_SERVER_ERROR": SERVER_ERROR}
SHOPIFY_MAX_THROTTLE_WAIT_S = 60.0


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one update sent: ``kind`` (delivered, retry, rejected), why (a class and the partner's words)."""

    kind: str
    reason_class: str = ""
    reason: str = ""

    @property
    def transient(self) -> bool:
        """A retry that waits and counts against the retry budget (``not_applied`` is sent again at once)."""
        return self.kind == RETRY and self.reason_class != NOT_APPLIED


@dataclass(frozen=True, slots=True)
class Reading:
    outcomes: tuple[Outcome, ...]  # one per update sent, in the order sent
    wait_s: float | None = None  # how long the partner asked us to wait before sending again


Reader = Callable[[int, Mapping[str, str], bytes, Sequence[ChannelUpdate]], Reading]

_DELIVERED = Outcome(DELIVERED)


def every(outcome: Outcome, sent: Sequence[ChannelUpdate], wait_s: float | None = None) -> Reading:
    return Reading(tuple(outcome for _ in sent), wait_s)


def unreachable(error: str, sent: Sequence[ChannelUpdate]) -> Reading:
    """No HTTP answer at all (timeout, refused connection): every update is sent again."""
    return every(Outcome(RETRY, UNREACHABLE, partner_text(error)), sent)


def by_status(status: int, headers: Mapping[str, str], body: bytes, sent: Sequence[ChannelUpdate]) -> Reading | None:
    """A non-2xx answer is about the whole request: a 4xx other than 408 and 429 refuses every update, any other
    status (429, 408, 5xx, a redirect not followed) is retried.

    ``None`` for a 2xx: the platform's reader decides from the body."""
    if 200 <= status < 300:
        return None
    said = _partner_message(body)
    reason = f"HTTP {status}" + (f": {said}" if said else "")
    if status == 429:
        return every(Outcome(RETRY, THROTTLED, reason), sent, _retry_after_s(headers))
    if 400 <= status < 500 and status != 408:
        return every(Outcome(REJECTED, REFUSED, reason), sent)
    return every(Outcome(RETRY, UNREACHABLE if status == 408 else SERVER_ERROR, reason), sent)


def status_only(status: int, headers: Mapping[str, str], body: bytes, sent: Sequence[ChannelUpdate]) -> Reading:
    """Amazon (a feed is processed later; its upload answer names no item), Magento (all or nothing), our JSON."""
    return by_status(status, headers, body, sent) or every(_DELIVERED, sent)


def shopify(status: int, headers: Mapping[str, str], body: bytes, sent: Sequence[ChannelUpdate]) -> Reading:
    """``inventorySetQuantities``: ``data.<mutation>.userErrors[].field`` = ``["input", "quantities", "<i>", …]``
    names the quantity refused. With ``inventoryAdjustmentGroup`` null nothing was applied, so the quantities not
    named are sent again; top-level ``errors`` (``THROTTLED``, ``INTERNAL_SERVER_ERROR``, …) concern every one."""
    if (whole := by_status(status, headers, body, sent)) is not None:
        return whole
    answer = _json_object(body)
    if isinstance(answer, str):
        return every(Outcome(RETRY, UNREADABLE, answer), sent)
    errors = answer.get("errors")
    if isinstance(errors, list) and errors:
        return _shopify_errors(errors, answer.get("extensions"), sent)
    data = answer.get("data")
    payload = _sole_field(data) if isinstance(data, dict) else None
    if not isinstance(payload, dict) or not isinstance(payload.get("userErrors", []), list):
        return every(Outcome(RETRY, UNREADABLE, "answer without the mutation's result"), sent)
    refused: dict[int, Outcome] = {}
    for error in payload.get("userErrors") or []:
        index, outcome = _shopify_user_error(error, len(sent))
        if index is None:  # about the request as a whole (its name, reason, location …): about every quantity
            return every(outcome, sent)
        refused.setdefault(index, outcome)
    applied = payload.get("inventoryAdjustmentGroup") is not None or not refused
    rest = _DELIVERED if applied else Outcome(RETRY, NOT_APPLIED, "not applied: the partner refused another update")
    return Reading(tuple(refused.get(i, rest) for i in range(len(sent))))


def ebay(status: int, headers: Mapping[str, str], body: bytes, sent: Sequence[ChannelUpdate]) -> Reading:
    """``bulk_update_price_quantity``: 200 or 207 with ``responses[] {statusCode, sku, errors[]}``, matched by SKU.
    A SKU with no response is sent again; several responses for one SKU (one per offer): the worst one counts."""
    if (whole := by_status(status, headers, body, sent)) is not None:
        return whole
    answer = _json_object(body)
    if isinstance(answer, str):
        return every(Outcome(RETRY, UNREADABLE, answer), sent)
    responses = answer.get("responses")
    if not isinstance(responses, list):
        return every(Outcome(RETRY, UNREADABLE, "answer without per-item responses"), sent)
    by_sku: dict[str, Outcome] = {}
    for response in responses:
        if isinstance(response, dict) and isinstance(response.get("sku"), str):
            outcome = _ebay_item(response)
            known = by_sku.get(response["sku"])
            by_sku[response["sku"]] = outcome if known is None else max(known, outcome, key=_severity)
    missing = Outcome(RETRY, UNREADABLE, "no response for this SKU")
    return Reading(tuple(by_sku.get(update.channel_sku, missing) for update in sent))


READERS: dict[str, Reader] = {
    "shopify": shopify,
    "ebay": ebay,
    "amazon": status_only,
    "magento": status_only,
    "json": status_only,
}


def partner_text(text: str) -> str:
    """A partner's words fit for a dead letter and a log line: one line, bounded, email addresses masked."""
    cut = " ".join(text[: MAX_REASON_CHARS * 2].split())[:MAX_REASON_CHARS]
    return mask_raw_payload(cut.encode("utf-8", errors="replace")).decode("utf-8", errors="replace")


def _shopify_errors(errors: list[Any], extensions: Any, sent: Sequence[ChannelUpdate]) -> Reading:
    first = errors[0] if isinstance(errors[0], dict) else {}
    extra = first.get("extensions")
    code = str(extra.get("code", "")) if isinstance(extra, dict) else ""
    reason = partner_text(f"{code}: {first.get('message', '')}" if code else str(first.get("message", "")))
    retried = SHOPIFY_RETRIED_ERRORS.get(code)
    if retried is None:
        return every(Outcome(REJECTED, REFUSED, reason), sent)
    wait = _shopify_throttle_wait_s(extensions) if retried == THROTTLED else None
    return every(Outcome(RETRY, retried, reason), sent, wait)


def _shopify_user_error(error: Any, sent: int) -> tuple[int | None, Outcome]:
    if not isinstance(error, dict):
        return None, Outcome(REJECTED, REFUSED, "unreadable userError")
    code = str(error.get("code") or "")
    said = partner_text(f"{code}: {error.get('message', '')}" if code else str(error.get("message", "")))
    transient = code in SHOPIFY_TRANSIENT_CODES
    outcome = Outcome(RETRY, SERVER_ERROR, said) if transient else Outcome(REJECTED, REFUSED, said)
    field = error.get("field")
    if isinstance(field, list) and len(field) >= 3 and field[0] == "input" and str(field[2]).isdigit():
        index = int(field[2])
        if index < sent:
            return index, outcome
    return None, outcome


def _shopify_throttle_wait_s(extensions: Any) -> float | None:
    """Until the leaky bucket holds the query's cost again: (requested - available) / restore rate."""
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    if not isinstance(cost, dict) or not isinstance(cost.get("throttleStatus"), dict):
        return None
    try:
        missing = float(cost["requestedQueryCost"]) - float(cost["throttleStatus"]["currentlyAvailable"])
        rate = float(cost["throttleStatus"]["restoreRate"])
    except (KeyError, TypeError, ValueError):
        return None
    return min(SHOPIFY_MAX_THROTTLE_WAIT_S, max(0.0, missing / rate)) if rate > 0 else None


def _ebay_item(response: dict[str, Any]) -> Outcome:
    code = response.get("statusCode")
    if not isinstance(code, int):
        return Outcome(RETRY, UNREADABLE, "response without a statusCode")
    if 200 <= code < 300:
        return _DELIVERED
    errors = response.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    said = partner_text(f"{code} {first.get('errorId', '')}: {first.get('message', '')}".replace(" :", ":"))
    if code == 429:
        return Outcome(RETRY, THROTTLED, said)
    if code >= 500:
        return Outcome(RETRY, SERVER_ERROR, said)
    return Outcome(REJECTED, REFUSED, said)


def _severity(outcome: Outcome) -> int:
    return {DELIVERED: 0, RETRY: 1, REJECTED: 2}[outcome.kind]


def _json_object(body: bytes) -> dict[str, Any] | str:
    """The body as a JSON object, or why it is not one."""
    if len(body) > MAX_RESPONSE_BYTES:
        return f"answer over {MAX_RESPONSE_BYTES} bytes"
    try:
        answer = parse_json(body)
    except InputError as exc:
        return partner_text(f"unreadable answer: {exc.reason}")
    return answer if isinstance(answer, dict) else "answer is not a JSON object"


def _sole_field(data: dict[str, Any]) -> Any:
    """The mutation's result: ``inventorySetQuantities`` (what we send), or the one field of any other mutation."""
    if "inventorySetQuantities" in data:
        return data["inventorySetQuantities"]
    return next(iter(data.values())) if len(data) == 1 else None


def _partner_message(body: bytes) -> str:
    """What a refusing partner said, if it said it in a shape we know: ``errors[0].message`` (Shopify, eBay,
    Amazon SP-API), ``errors`` as text (Shopify REST), ``message`` (Magento)."""
    answer = _json_object(body) if body else ""
    if isinstance(answer, str):
        return ""
    errors = answer.get("errors")
    if isinstance(errors, str):
        return partner_text(errors)
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return partner_text(str(errors[0].get("message", "")))
    message = answer.get("message")
    return partner_text(message) if isinstance(message, str) else ""


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def _retry_after_s(headers: Mapping[str, str]) -> float | None:
    return retry_after_s(next((v for k, v in headers.items() if k.lower() == "retry-after"), None))
