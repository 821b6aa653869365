"""Fuzzing the edges: no CDC message or reservation event, however mangled, may crash the flow.

Each input either decodes into domain events or is dead-lettered with a reason,
and the events it decodes into can be applied by the engine. The number of
examples is the short profile by default; ``ATP_FUZZ_EXAMPLES`` runs the long one
(e.g. ``ATP_FUZZ_EXAMPLES=20000 .venv/bin/python -m pytest tests/unit/test_fuzz_decoders.py``).
"""

from __future__ import annotations

import json
import os

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atp.domain.events import StockLevel, StoreStockByUpc
from atp.domain.sku_state import SkuState
from atp.domain.upc_resolution import UpcState
from connectors.cdc.decode import TABLES, decode_boundary, decode_change
from connectors.reservations import decode_reservation
from tests.debezium_events import mariadb_source, postgres_source, reservation_value
from tests.engine_inputs import NOW, RULES, item

EXAMPLES = int(os.environ.get("ATP_FUZZ_EXAMPLES", "400"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=12,
)

# Column values of the kinds Debezium sends, and the kinds it should never send.
column_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["12.000", "-3.000", "1.5", "1e400", "NaN", "", "  ", "DC0001", "S", "K", "P", "A", "D", "Y", "O"]),
    st.text(max_size=20),
)

COLUMNS = [
    "ITEM_NO", "STYLE_NO", "UPC", "ITEM_TYPE", "STATUS_FLG", "LOC_CD", "QTY_OH", "QTY_HOLD", "LOT_NO", "QTY",
    "EXPIRY_DT", "PO_NO", "LINE_NO", "QTY_ORD", "QTY_RCV", "DUE_DT", "STATUS", "SS_QTY", "KIT_ITEM_NO",
    "COMP_ITEM_NO", "COMP_QTY", "CHANNEL_CD", "CHANNEL_SKU", "ACTIVE_FLG", "LOC_TYPE", "LOC_NAME", "SHIP_FROM_FLG",
    "store_id", "upc", "on_hand", "ticket_id", "line_no", "qty", "status", "customer_email", "loyalty_id",
]  # fmt: skip

rows = st.dictionaries(st.sampled_from(COLUMNS), column_values, max_size=len(COLUMNS))


transaction_blocks = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(max_size=16), st.sampled_from(["0-1-27", "734:26459648", ""])),
        "total_order": st.one_of(st.integers(-2, 2**70), json_values),
        "data_collection_order": st.integers(0, 5),
    }
)


@st.composite
def envelopes(draw: st.DrawFn) -> tuple[str, bytes | None]:
    topic = draw(st.sampled_from(sorted(TABLES)))
    table = topic.rsplit(".", 1)[1]
    source = (
        mariadb_source(table, draw(st.integers(0, 2**40)))
        if topic.startswith("erp")
        else postgres_source(table, draw(st.integers(0, 2**40)))
    )
    if draw(st.booleans()):
        source = draw(st.dictionaries(st.sampled_from(list(source)), json_values)) | draw(st.sampled_from([{}, source]))
    doc = {
        "op": draw(st.sampled_from(["c", "u", "d", "r", "t", "x", None, 7])),
        "before": draw(st.one_of(st.none(), rows)),
        "after": draw(st.one_of(st.none(), rows)),
        "source": source,
        "ts_ms": 1,
    }
    transaction = draw(st.one_of(st.none(), json_values, transaction_blocks))
    if transaction is not None:
        doc["transaction"] = transaction
    value = json.dumps(doc).encode()  # stdlib: it writes integers beyond 64 bits, as a hostile producer might
    shape = draw(st.sampled_from(["whole", "truncated", "tombstone", "garbage", "not an object"]))
    if shape == "truncated":
        value = value[: draw(st.integers(0, max(0, len(value) - 1)))]
    elif shape == "tombstone":
        return topic, None
    elif shape == "garbage":
        value = draw(st.binary(max_size=60))
    elif shape == "not an object":
        value = json.dumps(draw(json_values)).encode()
    return topic, value


def apply_everywhere(events: list) -> None:
    """The decoded events must be usable by the engine without raising."""
    sku_state, upc_state = SkuState("X"), UpcState("X")
    sku_state.apply(item(sku="X"), NOW, RULES)
    for event in events:
        if isinstance(event, StoreStockByUpc):
            upc_state.apply_store_stock(event)
        elif isinstance(event, StockLevel):
            assert event.on_hand >= 0 and event.quality_hold >= 0
            sku_state.apply(event, NOW, RULES)


@FUZZ
@given(envelopes())
def test_no_mangled_cdc_message_crashes_decoding_and_each_is_used_or_dead_lettered(message):
    topic, value = message
    decoded = decode_change(topic, 0, 1, value, NOW)
    if decoded.dead_letter is not None:
        assert decoded.dead_letter.reason and decoded.dead_letter.source_topic == topic
        assert "@example" not in decoded.dead_letter.payload  # personal data masked even in garbage
    apply_everywhere(decoded.events)
    if decoded.transaction is not None:
        tx_id, order = decoded.transaction
        assert tx_id and ":" not in tx_id and order >= 1


@FUZZ
@given(
    doc=st.fixed_dictionaries(
        {},
        optional={
            "status": st.one_of(st.sampled_from(["BEGIN", "END", "COMMIT"]), json_values),
            "id": st.one_of(st.sampled_from(["0-1-27", "734:26459648"]), json_values),
            "event_count": st.one_of(st.integers(-2, 2**70), json_values),
            "data_collections": st.one_of(
                st.lists(
                    st.fixed_dictionaries(
                        {
                            "data_collection": st.sampled_from(["erp.STOCK_BAL", "public.store"]),
                            "event_count": json_values,
                        }
                    ),
                    max_size=3,
                ),
                json_values,
            ),
            "ts_ms": json_values,
        },
    ),
    cut=st.one_of(st.none(), st.integers(0, 120)),
)
def test_no_mangled_transaction_record_crashes_decoding(doc, cut):
    value = json.dumps(doc).encode()
    if cut is not None:
        value = value[:cut]
    decoded = decode_boundary("erp.transaction", 0, 1, value, NOW)
    assert (decoded.boundary is None) == (decoded.dead_letter is not None)
    if decoded.boundary is not None:
        assert decoded.boundary.event_count >= 0 and decoded.boundary.tx_id


reservation_fields = st.dictionaries(
    st.sampled_from(
        [
            "event_id",
            "reservation_id",
            "channel",
            "channel_sku",
            "location",
            "qty",
            "op",
            "expires_at",
            "occurred_at",
            "customer_ref",
        ]
    ),  # fmt: skip
    st.one_of(
        json_values,
        st.sampled_from(["HOLD", "CONFIRM", "RELEASE", "FULFILL", "2026-11-22T10:00:00Z", "2026-11-22T10:00:00"]),
    ),
)


@FUZZ
@given(
    base=st.sampled_from(["HOLD", "CONFIRM", "RELEASE", "FULFILL"]),
    overrides=reservation_fields,
    cut=st.one_of(st.none(), st.integers(0, 200)),
)
def test_no_mangled_reservation_event_crashes_the_parser_or_leaks_the_customer(base, overrides, cut):
    doc = orjson.loads(reservation_value(base, customer_ref="jane@shop.example")) | overrides
    if "customer_ref" in overrides:
        doc["customer_ref"] = "jane@shop.example"
    value = json.dumps(doc).encode()
    if cut is not None:
        value = value[:cut]
    decoded = decode_reservation("orders.reservations", 0, 1, value, NOW)
    assert (decoded.dead_letter is None) == bool(decoded.events)
    if decoded.dead_letter is not None:
        assert "jane@shop.example" not in decoded.dead_letter.payload + decoded.dead_letter.error
    for event in decoded.events:
        assert "jane" not in repr(event) and event.qty > 0
