"""Back-in-stock notices in the whole dataflow: a wish with consent is told once when its listing comes back;
without consent, withdrawn, or forgotten, never; bad wish-list events are dead-lettered with the ref masked."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bytewax.recovery import RecoveryConfig
from bytewax.testing import TestingSink, run_main

from atp import privacy_requests
from atp.domain.back_in_stock import BackInStockNotice
from atp.domain.channels import ChannelRecord
from atp.domain.records import DeadLetter
from atp.errors import ServiceError
from atp.privacy_requests import forget_event
from atp.settings import settings_from_fields
from connectors.store_loader import tables_by_topic
from connectors.topics import WISHLIST, back_in_stock_topic
from flows.process import availability_flow
from tests.debezium_events import ERP_STOCK, message, stock_bal_row, wish_value
from tests.paced_source import ResumablePacedSource, run_paced
from tests.unit.test_engine_flow import EPOCH, a_shirt_listed_on_shopify, erp

_offsets = iter(range(1, 10**6))
SETTINGS = settings_from_fields(low_stock_threshold=2, store_safety_stock=0, unresolved_wait_s=0)
PLAIN_KAFKA = settings_from_fields(kafka_security_protocol="PLAINTEXT").kafka  # no broker password needed
REFS = ("cust-told", "cust-no-consent", "cust-changed-mind", "cust-withdrew", "cust-forgotten")


def wishing(op: str, **fields) -> object:
    return message(WISHLIST, wish_value(op, **fields), next(_offsets))


def restock(units: str) -> object:
    return erp(ERP_STOCK, stock_bal_row("TEE-1", "DC0001", units), "STOCK_BAL", op="u")


def run(schedule: list, linger_s: float = 0.4, workers: int = 1) -> list:
    return run_paced(SETTINGS, schedule, linger_s, EPOCH, workers)


def notices(out: list) -> list[tuple[str, str, str, int, int]]:
    return [(n.wish_id, n.customer_ref, n.sku, n.available, n.version) for n in out if isinstance(n, BackInStockNotice)]


def wishes_on_a_sold_out_shirt() -> list[tuple[float, object]]:
    schedule: list[tuple[float, object]] = [(0.0, m) for m in a_shirt_listed_on_shopify("0.000")]
    schedule += [
        (0.1, wishing("WISH", wish_id="w-told", customer_ref="cust-told")),
        (0.1, wishing("WISH", wish_id="w-no", customer_ref="cust-no-consent", consent=False)),
        (0.1, wishing("WISH", wish_id="w-changed", customer_ref="cust-changed-mind")),
        (
            0.1,
            wishing(
                "CONSENT_WITHDRAWN",
                wish_id="w-changed",
                customer_ref="cust-changed-mind",
                occurred_at="2026-11-22T10:05:00Z",
            ),
        ),  # fmt: skip
        (0.1, wishing("WISH", wish_id="w-gone", customer_ref="cust-withdrew")),
        (0.1, wishing("WITHDRAW", wish_id="w-gone", customer_ref="cust-withdrew")),
        (0.1, wishing("WISH", wish_id="w-forgotten", customer_ref="cust-forgotten")),
        (0.15, wishing("FORGET", customer_ref="cust-forgotten", occurred_at="2026-11-22T10:05:00Z")),
    ]
    return schedule


@pytest.mark.parametrize("workers", [1, 2])
def test_only_the_wish_with_consent_is_told_once_when_the_sold_out_shirt_comes_back(workers: int):
    # Phases a few epochs apart even when two workers start slowly (each restock its own channel record).
    schedule = wishes_on_a_sold_out_shirt() + [(0.4, restock("10.000"))]
    # Sold out and back again, and the channel re-sends the wish: it was told already.
    schedule += [(0.8, restock("0.000")), (1.0, wishing("WISH", wish_id="w-told", customer_ref="cust-told"))]
    schedule += [(1.2, restock("4.000"))]
    out = run(schedule, workers=workers)
    assert [r.available for r in out if isinstance(r, ChannelRecord)] == [0, 10, 0, 4]
    assert notices(out) == [("w-told", "cust-told", "TEE-1", 10, 1)]
    assert not [r for r in out if isinstance(r, DeadLetter)]


def test_a_wish_on_a_shirt_never_sold_out_is_not_told():
    schedule = [(0.0, m) for m in a_shirt_listed_on_shopify("10.000")]
    schedule += [(0.1, wishing("WISH")), (0.2, restock("12.000"))]
    assert notices(run(schedule)) == []


def test_bad_wish_list_events_are_dead_lettered_with_a_reason_and_the_ref_masked():
    schedule = [
        (0.0, wishing("WISH", consent="yes", customer_ref="cust-secret-1")),
        (0.0, wishing("MAYBE", customer_ref="cust-secret-2")),
        (0.0, message(WISHLIST, b'{"event_id": "e", "op": "WISH", "customer_ref": "cust-secret-3"}', 999)),
        (0.0, message(WISHLIST, b"{not json", 1000)),
    ]
    letters = [r for r in run(schedule, linger_s=0.2) if isinstance(r, DeadLetter)]
    assert sorted(letter.reason for letter in letters) == [
        "invalid_consent", "invalid_field", "unknown_op", "unparsable_json"
    ]  # fmt: skip
    assert all(letter.source_topic == WISHLIST for letter in letters)
    assert not any("cust-secret" in letter.payload + letter.error for letter in letters)


def test_no_customer_ref_reaches_a_log_line_a_dead_letter_or_the_store(caplog: pytest.LogCaptureFixture):
    schedule = wishes_on_a_sold_out_shirt() + [(0.3, restock("10.000"))]
    schedule += [(0.3, wishing("WISH", wish_id="w-bad", customer_ref="cust-told", consent=1))]
    with caplog.at_level(logging.DEBUG):
        out = run(schedule)
    assert notices(out) == [("w-told", "cust-told", "TEE-1", 10, 1)]  # the notice carries it: its one place
    logged = "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    letters = " ".join(f"{r.payload} {r.error}" for r in out if isinstance(r, DeadLetter))
    for ref in REFS:
        assert ref not in logged and ref not in letters
    others = " ".join(str(r.to_dict()) for r in out if hasattr(r, "to_dict") and not isinstance(r, BackInStockNotice))
    assert not any(ref in others for ref in REFS)  # availability, channel records, their cause_ref, dead letters
    loaded = set(tables_by_topic(SETTINGS.channels))
    assert WISHLIST not in loaded and back_in_stock_topic("SHOPIFY") not in loaded


def test_forget_customer_stops_the_notices_of_a_ref_it_names_only_by_its_digest():
    """The FORGET `atp forget-customer` writes, through the real decoder and flow."""
    digest = hashlib.sha256(b"cust-told").hexdigest()
    key, value = forget_event(digest, int(time.time() * 1000))
    assert b"cust-told" not in key + value
    schedule = wishes_on_a_sold_out_shirt() + [(0.2, message(WISHLIST, value, next(_offsets), key=key))]
    schedule += [(0.3, restock("10.000"))]
    out = run(schedule)
    assert notices(out) == []
    assert not [r for r in out if isinstance(r, DeadLetter)]


def test_a_wish_re_sent_after_its_customers_deletion_request_is_never_told():
    """A wish event reaches its listing only through its customer's key, where the deletion request stands."""
    digest = hashlib.sha256(b"cust-told").hexdigest()
    key, value = forget_event(digest, int(time.time() * 1000))
    schedule = wishes_on_a_sold_out_shirt() + [(0.2, message(WISHLIST, value, next(_offsets), key=key))]
    schedule += [(0.25, wishing("WISH", wish_id="w-told", customer_ref="cust-told"))]  # re-sent, from before it
    schedule += [(0.3, restock("10.000"))]
    assert notices(run(schedule)) == []


def test_forget_customer_delivers_its_forget_to_the_wish_list_topic_or_fails(monkeypatch: pytest.MonkeyPatch):
    sent: list[tuple[str, bytes, bytes]] = []

    class Producer:
        def __init__(self, config: dict) -> None:
            assert config["acks"] == "all"

        def produce(self, topic: str, key: bytes, value: bytes, on_delivery) -> None:  # type: ignore[no-untyped-def]
            sent.append((topic, key, value))
            on_delivery(None, None)

        def flush(self, timeout_s: float) -> int:
            return 0

    monkeypatch.setattr(privacy_requests, "Producer", Producer)
    digest = hashlib.sha256(b"cust-told").hexdigest()
    privacy_requests.request_forget(PLAIN_KAFKA, digest)
    [(topic, key, value)] = sent
    assert topic == WISHLIST and b"cust-told" not in key + value
    monkeypatch.setattr(Producer, "flush", lambda self, timeout_s: 1)
    with pytest.raises(ServiceError, match="not delivered to orders.wishlist"):
        privacy_requests.request_forget(PLAIN_KAFKA, digest)


def test_a_wish_told_before_a_restart_is_not_told_again_after_it(tmp_path: Path):
    subprocess.run([sys.executable, "-m", "bytewax.recovery", str(tmp_path), "1"], check=True, capture_output=True)
    first = wishes_on_a_sold_out_shirt() + [(0.3, restock("10.000"))]

    def resume(schedule: list, linger_s: float) -> list:
        out: list = []
        flow = availability_flow(SETTINGS, ResumablePacedSource(schedule, linger_s), TestingSink(out))
        run_main(flow, epoch_interval=dt.timedelta(milliseconds=50), recovery_config=RecoveryConfig(str(tmp_path)))
        return out

    before = resume(first, linger_s=0.3)
    # After the restart: the channel re-sends the wish, and the shirt sells out and comes back.
    again = first + [(0.0, wishing("WISH", wish_id="w-told", customer_ref="cust-told"))]
    again += [(0.1, restock("0.000")), (0.3, restock("6.000"))]
    after = resume(again, linger_s=0.3)
    assert notices(before) == [("w-told", "cust-told", "TEE-1", 10, 1)]
    assert notices(after) == []
