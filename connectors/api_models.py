"""The lookup API's answers as pydantic models, and the OpenAPI 3.1 document built from them.

The models are the contract (``GET /openapi.json``); the server builds its answers as plain dicts of
the same shape (no validation per request on the hot path) and the schemathesis test in
``tests/unit/test_api_server.py`` checks every answer against this document.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

Status = Literal["IN_STOCK", "LOW_STOCK", "OUT_OF_STOCK", "BACKORDER", "PREORDER", "DISCONTINUED"]
Timestamp = Field(description="ISO 8601, UTC, milliseconds", json_schema_extra={"format": "date-time"})

NEARBY_LIMIT_DEFAULT = 5
NEARBY_LIMIT_MAX = 50


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LocationAvailability(_Answer):
    """The latest ``atp.availability`` record of one SKU at one location (fields as in the contract)."""

    sku: str
    location: str
    on_hand: int
    unsellable: int
    reserved: int
    committed: int
    safety_stock: int
    available: int = Field(description="what may be promised now, never negative")
    incoming: int
    next_inbound_date: str | None = Field(json_schema_extra={"format": "date"})
    status: Status
    version: int = Field(description="1, 2, 3, ... per SKU and location; the highest seen is served")
    source_ts_ms: str = Timestamp
    computed_ts_ms: str = Timestamp
    cause: str
    cause_ref: str


class SkuAvailability(_Answer):
    sku: str
    locations: list[LocationAvailability] = Field(description="every location with a record, by location code")


class ChannelAvailability(_Answer):
    """The latest ``atp.channel.<channel>`` record of one channel SKU (its contract has no source time)."""

    channel: str
    channel_sku: str
    sku: str
    available: int
    buffer: int
    status: Status
    promise_date: str | None = Field(json_schema_extra={"format": "date"})
    version: int
    computed_ts_ms: str = Timestamp


class NearbyStore(_Answer):
    location: str
    name: str
    distance_km: float
    available: int
    version: int
    source_ts_ms: str = Timestamp


class Alternative(_Answer):
    sku: str
    color_cd: str | None
    size_cd: str | None
    available: int
    version: int
    source_ts_ms: str = Timestamp


class NearbyAnswer(_Answer):
    """For a SKU at a store: the closest other stores that can promise it, and the other variants of its
    style the store itself can promise."""

    sku: str
    location: str
    available: int = Field(description="at this store; 0 when it has no record")
    version: int | None = Field(description="of this store's record; null when it has none")
    source_ts_ms: str | None = Field(json_schema_extra={"format": "date-time"})
    nearby: list[NearbyStore]
    alternatives: list[Alternative]


class ApiError(_Answer):
    error: str


class Health(_Answer):
    ok: bool
    availability_keys: int
    channel_keys: int
    locations: int
    items: int


MODELS: tuple[type[BaseModel], ...] = (
    LocationAvailability, SkuAvailability, ChannelAvailability, NearbyStore, Alternative, NearbyAnswer, ApiError,
    Health,
)  # fmt: skip


def _path_parameter(name: str, description: str, example: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "example": example,
            "schema": {"type": "string", "minLength": 1}}  # fmt: skip


def _json(model: str, description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}}}  # fmt: skip


_REFUSED = {
    "401": _json("ApiError", "no or a wrong bearer token"),
    "404": _json("ApiError", "unknown key"),
}


def _lookup(summary: str, parameters: list[dict[str, Any]], answer: str, extra: dict[str, Any] | None = None) -> Any:
    return {"get": {"summary": summary, "parameters": parameters,
                    "responses": {"200": _json(answer, "the latest record")} | _REFUSED | (extra or {})}}  # fmt: skip


@cache
def openapi_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the lookup API."""
    _, definitions = models_json_schema(
        [(model, "serialization") for model in MODELS], ref_template="#/components/schemas/{model}"
    )
    # The examples are the README's (the schemathesis test serves them, so each path is also tried with a key found).
    sku = _path_parameter("sku", "canonical SKU (ERP ITEM_NO)", "TEE-1001-BLK-M")
    location = _path_parameter("location", "LOC_CD", "ST0001")
    limit = {"name": "limit", "in": "query", "required": False, "description": "answers of each kind, at most",
             "schema": {"type": "integer", "minimum": 1, "maximum": NEARBY_LIMIT_MAX,
                        "default": NEARBY_LIMIT_DEFAULT}}  # fmt: skip
    return {
        "openapi": "3.1.0",
        "info": {"title": "atp-stream lookup API", "version": "1"},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {
            "schemas": definitions["$defs"],
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/v1/availability/{sku}": _lookup("A SKU at every location", [sku], "SkuAvailability"),
            "/v1/availability/{sku}/{location}": _lookup(
                "A SKU at one location", [sku, location], "LocationAvailability"
            ),
            "/v1/availability/{sku}/{location}/nearby": _lookup(
                "Nearest stores with the SKU, and other variants of its style at this store",
                [sku, location, limit],
                "NearbyAnswer",
                {"400": _json("ApiError", "a limit out of range")},
            ),
            "/v1/channels/{channel}/{channel_sku}": _lookup(
                "A channel SKU",
                [
                    _path_parameter("channel", "CHANNEL_CD, any case", "SHOPIFY"),
                    _path_parameter("channel_sku", "its SKU there", "tee-1001-blk-m"),
                ],
                "ChannelAvailability",
            ),
            "/health": {"get": {"summary": "Liveness and the read model's size (no token needed)", "security": [],
                                "responses": {"200": _json("Health", "alive")}}},  # fmt: skip
        },
    }
