"""The lookup API over a real socket (127.0.0.1, an ephemeral port) with a read model filled directly, and
schemathesis against its OpenAPI document: no 5xx, every answer as the document says."""

from __future__ import annotations

import datetime as dt
import http.client
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from atp.domain.nearby import Place, Variant
from connectors.api_models import openapi_spec
from connectors.api_read_model import LocationRow, ReadModel
from connectors.api_server import serve_api

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
AT = dt.datetime(2026, 11, 22, 10, 4, tzinfo=dt.UTC)

# (store, latitude, longitude): Paris, Versailles (about 17 km), Lyon (about 392 km); a DC without coordinates.
STORES = (("ST0001", 48.8566, 2.3522), ("ST0002", 48.8049, 2.1204), ("ST0003", 45.7640, 4.8357))


def record(sku: str, location: str, available: int, version: int = 1) -> dict[str, Any]:
    return {
        "sku": sku, "location": location, "on_hand": available, "unsellable": 0, "reserved": 0, "committed": 0,
        "safety_stock": 0, "available": available, "incoming": 0, "next_inbound_date": None,
        "status": "IN_STOCK" if available else "OUT_OF_STOCK", "version": version, "source_ts_ms": AT,
        "computed_ts_ms": AT, "cause": "stock", "cause_ref": "erp.erp.STOCK_BAL[0]@1",
    }  # fmt: skip


def sample_model() -> ReadModel:
    """TEE-1001-BLK-M is out at ST0001, in stock at Versailles and Lyon; ST0001 has other variants of its style."""
    model = ReadModel()
    for store, latitude, longitude in STORES:
        model.apply_location(LocationRow(store, "S", f"Store {store}", Place(store, latitude, longitude)))
    model.apply_location(LocationRow("DC0001", "D", "DC", None))
    for sku, color, size in (("BLK", "BLK", "M"), ("BLK-L", "BLK", "L"), ("WHT-M", "WHT", "M"), ("RED-S", "RED", "S")):
        model.apply_item(Variant(f"TEE-1001-{sku}" if "-" in sku else "TEE-1001-BLK-M", "TEE-1001", color, size))
    for sku, location, available in (
        ("TEE-1001-BLK-M", "ST0001", 0), ("TEE-1001-BLK-M", "ST0002", 3), ("TEE-1001-BLK-M", "ST0003", 8),
        ("TEE-1001-BLK-M", "DC0001", 40), ("TEE-1001-BLK-L", "ST0001", 2), ("TEE-1001-WHT-M", "ST0001", 5),
        ("TEE-1001-RED-S", "ST0001", 0),
    ):  # fmt: skip
        model.apply_availability(record(sku, location, available, version=4))
    model.apply_channel({
        "channel": "SHOPIFY", "channel_sku": "tee-1001-blk-m", "sku": "TEE-1001-BLK-M", "available": 44, "buffer": 2,
        "status": "IN_STOCK", "promise_date": dt.date(2026, 11, 22), "version": 9, "computed_ts_ms": AT,
    })  # fmt: skip
    return model


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = serve_api(sample_model(), 0, TOKEN)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def get(base_url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=5)
    try:
        connection.request("GET", path, headers=AUTH if headers is None else headers)
        response = connection.getresponse()
        assert response.getheader("Content-Type") == "application/json"
        return response.status, orjson.loads(response.read())
    finally:
        connection.close()


def test_a_sku_at_a_location_is_served_with_its_version_and_source_time(base_url: str) -> None:
    status, body = get(base_url, "/v1/availability/TEE-1001-BLK-M/ST0002")
    assert status == 200
    assert (body["available"], body["version"], body["source_ts_ms"]) == (3, 4, "2026-11-22T10:04:00.000Z")


def test_a_sku_across_locations_lists_every_location_in_order(base_url: str) -> None:
    status, body = get(base_url, "/v1/availability/TEE-1001-BLK-M")
    assert status == 200
    assert [(a["location"], a["available"]) for a in body["locations"]] == [
        ("DC0001", 40), ("ST0001", 0), ("ST0002", 3), ("ST0003", 8)
    ]  # fmt: skip


def test_a_channel_sku_is_served_whatever_the_case_of_the_channel(base_url: str) -> None:
    status, body = get(base_url, "/v1/channels/shopify/tee-1001-blk-m")
    assert status == 200
    assert (body["available"], body["buffer"], body["version"], body["promise_date"]) == (44, 2, 9, "2026-11-22")


def test_nearby_offers_the_closest_stores_with_stock_and_the_style_s_variants_at_the_store(base_url: str) -> None:
    status, body = get(base_url, "/v1/availability/TEE-1001-BLK-M/ST0001/nearby?limit=5")
    assert status == 200
    assert (body["available"], body["version"]) == (0, 4)
    assert [(s["location"], s["name"], s["available"]) for s in body["nearby"]] == [
        ("ST0002", "Store ST0002", 3),
        ("ST0003", "Store ST0003", 8),
    ]  # fmt: skip  (the DC has stock but is no store, and has no coordinates)
    assert 15 < body["nearby"][0]["distance_km"] < 20 and 380 < body["nearby"][1]["distance_km"] < 400
    assert [(a["sku"], a["available"]) for a in body["alternatives"]] == [("TEE-1001-BLK-L", 2), ("TEE-1001-WHT-M", 5)]
    _, one = get(base_url, "/v1/availability/TEE-1001-BLK-M/ST0001/nearby?limit=1")
    assert len(one["nearby"]) == len(one["alternatives"]) == 1


def test_unknown_keys_are_404_with_a_json_error(base_url: str) -> None:
    for path in (
        "/v1/availability/NOPE/ST0001", "/v1/availability/NOPE", "/v1/channels/SHOPIFY/nope",
        "/v1/availability/NOPE/ST0001/nearby", "/v1/availability/TEE-1001-BLK-M/ST9999/nearby", "/v2/anything",
    ):  # fmt: skip
        assert get(base_url, path) == (404, {"error": "not found"}), path


def test_a_limit_out_of_range_is_400(base_url: str) -> None:
    for limit in ("0", "51", "many"):
        status, body = get(base_url, f"/v1/availability/TEE-1001-BLK-M/ST0001/nearby?limit={limit}")
        assert status == 400 and "limit" in body["error"]


def test_without_the_token_every_path_but_health_is_401(base_url: str) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        assert get(base_url, "/v1/availability/TEE-1001-BLK-M/ST0002", headers) == (401, {"error": "unauthorized"})
        assert get(base_url, "/openapi.json", headers)[0] == 401
    status, body = get(base_url, "/health", {})
    assert status == 200 and body["ok"] is True and body["availability_keys"] == 7


def test_the_openapi_document_is_served_with_the_token(base_url: str) -> None:
    assert get(base_url, "/openapi.json") == (200, orjson.loads(orjson.dumps(openapi_spec())))


def test_one_connection_serves_many_lookups(base_url: str) -> None:
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=5)
    try:
        for _ in range(3):
            connection.request("GET", "/v1/availability/TEE-1001-BLK-M/ST0003", headers=AUTH)
            response = connection.getresponse()
            assert response.status == 200 and orjson.loads(response.read())["available"] == 8
    finally:
        connection.close()


def test_the_api_binds_only_loopback() -> None:
    server = serve_api(ReadModel(), 0, TOKEN)
    try:
        assert server.server_address[0] == "127.0.0.1"
    finally:
        server.shutdown()
        server.server_close()


schema = schemathesis.openapi.from_dict(openapi_spec())


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_conforms_to_the_openapi_document(case: Any, base_url: str) -> None:
    case.call_and_validate(
        base_url=base_url,
        headers=AUTH,
        checks=[not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance],
    )
