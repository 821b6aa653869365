"""The lookup API on the real stack: a stock change in the ERP is answered with the new figure and a higher
version; nearby finds the store that has it. (Needs the integration stack: `make test`.)"""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from atp.settings import Settings
from connectors.legacy_db import erp_connection
from connectors.secret_files import read_secret
from tests.integration.legacy_writes import DC, new_item, put_on_shelf, set_dc_stock

pytestmark = pytest.mark.integration

Answer = dict[str, Any]


def lookup(settings: Settings, path: str, token: str | None = None) -> tuple[int, Answer]:
    headers = {"Authorization": f"Bearer {token or read_secret(settings.api.token_file, 'lookup API')}"}
    connection = http.client.HTTPConnection("127.0.0.1", settings.api.port, timeout=5)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, orjson.loads(response.read())
    finally:
        connection.close()


def answer_when(settings: Settings, path: str, ready: Callable[[Answer], bool], timeout_s: float = 90) -> Answer:
    """The first 200 answer of ``path`` that is ``ready``; fails with the last answer seen."""
    deadline = time.monotonic() + timeout_s
    last: tuple[int, Answer] = (0, {})
    while time.monotonic() < deadline:
        last = lookup(settings, path)
        if last[0] == 200 and ready(last[1]):
            return last[1]
        time.sleep(0.2)
    raise AssertionError(f"{path}: no matching answer within {timeout_s:.0f}s; last {last}")


def test_a_stock_change_in_the_erp_is_answered_with_the_new_figure_and_a_higher_version(pipeline: Settings):
    sku, _ = new_item(pipeline)
    set_dc_stock(pipeline, sku, 10)
    first = answer_when(pipeline, f"/v1/availability/{sku}/{DC}", lambda a: a["on_hand"] == 10)
    set_dc_stock(pipeline, sku, 4)
    second = answer_when(pipeline, f"/v1/availability/{sku}/{DC}", lambda a: a["on_hand"] == 4)
    assert second["version"] > first["version"]
    assert second["available"] == 4 - second["safety_stock"] and second["source_ts_ms"] >= first["source_ts_ms"]
    across = answer_when(pipeline, f"/v1/availability/{sku}", lambda a: len(a["locations"]) >= 1)
    assert [a["version"] for a in across["locations"] if a["location"] == DC] == [second["version"]]


def test_unknown_keys_are_404_and_a_wrong_token_401(pipeline: Settings):
    assert lookup(pipeline, "/v1/availability/NO-SUCH-SKU/DC0001") == (404, {"error": "not found"})
    assert lookup(pipeline, "/v1/availability/NO-SUCH-SKU/DC0001", token="wrong") == (401, {"error": "unauthorized"})


def test_nearby_offers_the_store_that_has_the_sku(pipeline: Settings):
    with erp_connection(pipeline.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT TRIM(LOC_CD) FROM LOCATION WHERE LOC_TYPE = 'S' AND LATITUDE IS NOT NULL "
            "AND LONGITUDE IS NOT NULL ORDER BY LOC_CD LIMIT 2"
        )
        here, there = (str(row[0]) for row in cur.fetchall())
    sku, upc = new_item(pipeline)
    put_on_shelf(pipeline, there, upc, 6)
    answer = answer_when(
        pipeline,
        f"/v1/availability/{sku}/{here}/nearby?limit=50",
        lambda a: any(store["location"] == there for store in a["nearby"]),
    )
    found = next(store for store in answer["nearby"] if store["location"] == there)
    assert found["available"] > 0 and found["distance_km"] >= 0 and found["version"] >= 1
