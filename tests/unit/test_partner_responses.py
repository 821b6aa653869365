"""Each partner's answer is read per update: what it took, what to send again, what it refused and why."""

from __future__ import annotations

import time

import orjson

from connectors.partner_payloads import ChannelUpdate
from connectors.partner_responses import (
    DELIVERED,
    MAX_REASON_CHARS,
    MAX_RESPONSE_BYTES,
    NOT_APPLIED,
    REFUSED,
    REJECTED,
    RETRY,
    SERVER_ERROR,
    THROTTLED,
    UNREADABLE,
    Outcome,
    ebay,
    partner_text,
    shopify,
    status_only,
)

SENT = [
    ChannelUpdate("SHOPIFY", "43729076", "TEE-1", 12, "IN_STOCK", 3),
    ChannelUpdate("SHOPIFY", "43729077", "TEE-2", 0, "OUT_OF_STOCK", 8),
    ChannelUpdate("SHOPIFY", "43729078", "TEE-3", 5, "LOW_STOCK", 2),
]
NO_HEADERS: dict[str, str] = {}
NOT_FOUND = "INVALID_INVENTORY_ITEM: The specified inventory item could not be found."


def kinds(outcomes: tuple[Outcome, ...]) -> list[tuple[str, str]]:
    return [(o.kind, o.reason_class) for o in outcomes]


def shopify_answer(user_errors: list[dict], applied: bool) -> bytes:
    group = {"id": "gid://shopify/InventoryAdjustmentGroup/101"} if applied else None
    return orjson.dumps(
        {
            "data": {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": user_errors}},
            "extensions": {"cost": {"requestedQueryCost": 10, "actualQueryCost": 10}},
        }
    )


def not_found_at(index: int) -> dict:
    return {
        "field": ["input", "quantities", str(index), "inventoryItemId"],
        "message": "The specified inventory item could not be found.",
        "code": "INVALID_INVENTORY_ITEM",
    }


def test_shopify_without_user_errors_delivers_every_quantity():
    reading = shopify(200, NO_HEADERS, shopify_answer([], applied=True), SENT)
    assert reading.outcomes == (Outcome(DELIVERED),) * 3 and reading.wait_s is None


def test_a_shopify_user_error_refuses_the_quantity_it_names_and_the_others_not_applied_are_sent_again():
    reading = shopify(200, NO_HEADERS, shopify_answer([not_found_at(1)], applied=False), SENT)
    assert kinds(reading.outcomes) == [(RETRY, NOT_APPLIED), (REJECTED, REFUSED), (RETRY, NOT_APPLIED)]
    assert reading.outcomes[1].reason == NOT_FOUND
    assert not reading.outcomes[0].transient  # sent again at once, not counted as a failed attempt


def test_a_shopify_user_error_with_an_adjustment_group_delivers_the_quantities_it_does_not_name():
    reading = shopify(200, NO_HEADERS, shopify_answer([not_found_at(2)], applied=True), SENT)
    assert kinds(reading.outcomes) == [(DELIVERED, ""), (DELIVERED, ""), (REJECTED, REFUSED)]


def test_a_shopify_user_error_about_the_whole_input_refuses_every_quantity():
    error = {"field": ["input", "reason"], "message": "The specified reason is invalid.", "code": "INVALID_REASON"}
    reading = shopify(200, NO_HEADERS, shopify_answer([error], applied=False), SENT)
    assert reading.outcomes == (Outcome(REJECTED, REFUSED, "INVALID_REASON: The specified reason is invalid."),) * 3


def test_a_shopify_user_error_that_says_try_again_is_retried():
    error = {"field": ["input", "quantities", "0"], "message": "This request is currently in progress, please try "
             "again.", "code": "IDEMPOTENCY_CONCURRENT_REQUEST"}  # fmt: skip
    reading = shopify(200, NO_HEADERS, shopify_answer([error], applied=False), SENT)
    assert kinds(reading.outcomes) == [(RETRY, SERVER_ERROR), (RETRY, NOT_APPLIED), (RETRY, NOT_APPLIED)]
    assert reading.outcomes[0].transient


def test_shopify_throttled_in_a_200_is_retried_after_the_bucket_refills():
    body = orjson.dumps(
        {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/limits#rate-limits",
                    },
                }
            ],
            "extensions": {
                "cost": {
                    "requestedQueryCost": 302,
                    "actualQueryCost": None,
                    "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 2, "restoreRate": 100.0},
                }
            },
        }
    )
    reading = shopify(200, NO_HEADERS, body, SENT)
    assert reading.outcomes == (Outcome(RETRY, THROTTLED, "THROTTLED: Throttled"),) * 3
    assert reading.wait_s == 3.0  # (302 - 2) points / 100 points a second


def test_a_shopify_graphql_error_that_is_not_transient_refuses_every_quantity():
    body = orjson.dumps({"errors": [{"message": "Field 'inventorySetQuantitiez' doesn't exist on type 'Mutation'",
                                     "extensions": {"code": "undefinedField"}}]})  # fmt: skip
    reading = shopify(200, NO_HEADERS, body, SENT)
    assert {o.kind for o in reading.outcomes} == {REJECTED}
    assert reading.outcomes[0].reason.startswith("undefinedField: Field 'inventorySetQuantitiez'")


def test_a_shopify_200_that_cannot_be_read_is_retried_with_the_reason():
    for body, reason in [
        (b"<html>502 Bad Gateway</html>", "unreadable answer: unparsable_json"),
        (b"{}", "answer without the mutation's result"),
        (b"[]", "answer is not a JSON object"),
        (b'{"data": {"inventorySetQuantities": null}}', "answer without the mutation's result"),
    ]:
        assert shopify(200, NO_HEADERS, body, SENT).outcomes == (Outcome(RETRY, UNREADABLE, reason),) * 3, body


def test_a_huge_or_deeply_nested_answer_is_refused_quickly_without_crashing():
    started = time.monotonic()
    huge = b'{"data": {"x": "' + b"a" * MAX_RESPONSE_BYTES + b'"}}'
    deep = b"[" * 200_000 + b"]" * 200_000  # orjson alone would recurse 200,000 levels deep
    too_long = Outcome(RETRY, UNREADABLE, f"answer over {MAX_RESPONSE_BYTES} bytes")
    assert shopify(200, NO_HEADERS, huge, SENT).outcomes[0] == too_long
    assert ebay(200, NO_HEADERS, deep, SENT).outcomes[0].reason == "unreadable answer: too_deeply_nested"
    assert status_only(400, NO_HEADERS, deep, SENT).outcomes[0].reason == "HTTP 400"
    assert time.monotonic() - started < 2.0


EBAY_SENT = [
    ChannelUpdate("EBAY", "TEE-1-M", "TEE-1", 12, "IN_STOCK", 3),
    ChannelUpdate("EBAY", "TEE-2-M", "TEE-2", 0, "OUT_OF_STOCK", 8),
    ChannelUpdate("EBAY", "TEE-3-M", "TEE-3", 5, "LOW_STOCK", 2),
    ChannelUpdate("EBAY", "TEE-4-M", "TEE-4", 1, "LOW_STOCK", 4),
]


def ebay_answer(*responses: dict) -> bytes:
    return orjson.dumps({"responses": list(responses)})


def test_ebay_per_sku_statuses_deliver_refuse_and_retry_each_sku_on_its_own():
    body = ebay_answer(
        {"statusCode": 200, "sku": "TEE-1-M", "offerId": "5005317010", "warnings": []},
        {
            "statusCode": 400,
            "sku": "TEE-2-M",
            "offerId": "5005317011",
            "errors": [
                {
                    "errorId": 25702,
                    "domain": "API_INVENTORY",
                    "subdomain": "Selling",
                    "category": "REQUEST",
                    "message": "The SKU TEE-2-M is not available in the system.",
                    "parameters": [{"name": "sku", "value": "TEE-2-M"}],
                }
            ],
        },
        {"statusCode": 500, "sku": "TEE-3-M", "errors": [{"errorId": 25001, "category": "APPLICATION",
                                                          "message": "A system error has occurred."}]},
    )  # fmt: skip
    for status in (200, 207):
        reading = ebay(status, NO_HEADERS, body, EBAY_SENT)
        assert kinds(reading.outcomes) == [(DELIVERED, ""), (REJECTED, REFUSED), (RETRY, SERVER_ERROR),
                                           (RETRY, UNREADABLE)]  # fmt: skip
        assert reading.outcomes[1].reason == "400 25702: The SKU TEE-2-M is not available in the system."
        assert reading.outcomes[3].reason == "no response for this SKU"


def test_ebay_answers_for_several_offers_of_a_sku_count_the_worst():
    body = ebay_answer({"statusCode": 200, "sku": "TEE-1-M", "offerId": "1"},
                       {"statusCode": 429, "sku": "TEE-1-M", "offerId": "2", "errors": []})  # fmt: skip
    assert kinds(ebay(207, NO_HEADERS, body, EBAY_SENT[:1]).outcomes) == [(RETRY, THROTTLED)]


def test_an_ebay_200_without_responses_is_retried():
    assert ebay(200, NO_HEADERS, b"", EBAY_SENT[:1]).outcomes[0].kind == RETRY
    assert ebay(200, NO_HEADERS, b'{"warnings": []}', EBAY_SENT[:1]).outcomes == (
        Outcome(RETRY, UNREADABLE, "answer without per-item responses"),
    )


def test_partners_without_per_item_answers_deliver_on_any_2xx():
    for status, body in [(200, b"[]"), (200, b"true"), (202, b'{"feedId": "23492394"}'), (204, b"not json")]:
        assert status_only(status, NO_HEADERS, body, SENT).outcomes == (Outcome(DELIVERED),) * 3


def test_a_refusal_of_the_whole_request_carries_what_the_partner_said():
    magento = orjson.dumps({"message": 'The "%1" value is invalid.', "parameters": ["quantity"]})
    assert status_only(400, NO_HEADERS, magento, SENT).outcomes[0] == Outcome(
        REJECTED, REFUSED, 'HTTP 400: The "%1" value is invalid.'
    )
    amazon = orjson.dumps({"errors": [{"code": "InvalidInput", "message": "Invalid input", "details": ""}]})
    assert status_only(403, NO_HEADERS, amazon, SENT).outcomes[0].reason == "HTTP 403: Invalid input"
    assert shopify(401, NO_HEADERS, b'{"errors": "[API] Invalid API key or access token"}', SENT).outcomes[0] == (
        Outcome(REJECTED, REFUSED, "HTTP 401: [API] Invalid API key or access token")
    )


def test_429_and_5xx_are_retried_and_retry_after_is_the_wait():
    reading = ebay(429, {"retry-after": "7"}, b"", EBAY_SENT[:2])
    assert reading.outcomes == (Outcome(RETRY, THROTTLED, "HTTP 429"),) * 2 and reading.wait_s == 7.0
    assert shopify(503, NO_HEADERS, b"", SENT).outcomes[0] == Outcome(RETRY, SERVER_ERROR, "HTTP 503")
    assert status_only(408, NO_HEADERS, b"", SENT).outcomes[0].kind == RETRY


def test_a_partner_message_in_a_dead_letter_is_one_bounded_line_with_email_addresses_masked():
    said = partner_text("Item\n owned by jane.doe@example.com   is locked " + "x" * 5000)
    assert said.startswith("Item owned by *** is locked x") and len(said) <= MAX_REASON_CHARS
