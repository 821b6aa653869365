"""Back-in-stock rules (atp.domain.back_in_stock): consent, once per wish, withdrawal, forget, repeats and order."""

from __future__ import annotations

import pickle
import random

from atp.domain.back_in_stock import (
    CONSENT_WITHDRAWN,
    DONE_WISH_MEMORY_MS,
    FORGET,
    NOTICE_KIND,
    NOTIFIED,
    WISH,
    WITHDRAW,
    BackInStockNotice,
    CustomerWishes,
    WishList,
    customer_key,
    customer_sha256,
    notice_key,
)
from atp.domain.channels import ChannelRecord
from atp.domain.epoch_batch import EpochBatch
from atp.domain.events import CustomerForgotten, Provenance, WishChanged
from atp.domain.records import Withdrawn
from atp.domain.rules import IN_STOCK, OUT_OF_STOCK, PREORDER

NOW = 1_800_000_000_000
ORIGIN = Provenance(NOW, "orders.wishlist[0]@1 event=e", "orders.wishlist", 0, 1)


def wish(op: str, wish_id: str = "w1", consent: bool = True, at: int = 0, ref: str = "cust-4711") -> WishChanged:
    return WishChanged("SHOPIFY", "SH-TEE-1", wish_id, f"{wish_id}-{op}-{at}", op, consent and op == WISH,
                       NOW + at, ORIGIN, ref)  # fmt: skip


def figure(version: int, available: int, status: str = IN_STOCK, at: int = 0) -> ChannelRecord:
    return ChannelRecord("SHOPIFY", "SH-TEE-1", "TEE-1", available, status, None, version, NOW + at)


def sold_out_listing() -> WishList:
    listing = WishList("SHOPIFY", "SH-TEE-1")
    assert listing.apply_figure(figure(1, 0, OUT_OF_STOCK), NOW) == []
    listing.seal()
    return listing


def notices(out: list) -> list[tuple[str, str, int]]:
    return [(n.wish_id, n.customer_ref, n.available) for n in out if isinstance(n, BackInStockNotice)]


def test_a_wish_with_consent_is_told_once_when_its_listing_comes_back():
    listing = sold_out_listing()
    assert listing.apply_wish(wish(WISH), NOW) == []
    [notice] = listing.apply_figure(figure(2, 7), NOW + 5)
    assert notice == BackInStockNotice("SHOPIFY", "SH-TEE-1", "TEE-1", "w1", "cust-4711", 7, 1, NOW + 5)
    listing.seal()
    assert listing.wishes["w1"].stage == NOTIFIED and listing.wishes["w1"].customer_ref == ""
    # Sold out and back again: the wish is done.
    assert listing.apply_figure(figure(3, 0, OUT_OF_STOCK), NOW) == []
    listing.seal()
    assert listing.apply_figure(figure(4, 9), NOW) == []


def test_a_wish_without_consent_or_whose_consent_was_withdrawn_is_never_told():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH, "w1", consent=False), NOW)
    listing.apply_wish(wish(WISH, "w2", at=1), NOW)
    listing.apply_wish(wish(CONSENT_WITHDRAWN, "w2", at=2), NOW)
    listing.apply_wish(wish(WISH, "w3", at=1), NOW)
    listing.apply_wish(wish(WITHDRAW, "w3", at=2), NOW)
    assert listing.apply_figure(figure(2, 7), NOW) == []


def test_consent_given_again_later_is_honoured_at_the_next_return():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH, consent=False, at=1), NOW)
    listing.apply_wish(wish(WISH, consent=True, at=2), NOW)
    assert notices(listing.apply_figure(figure(2, 7), NOW)) == [("w1", "cust-4711", 7)]


def test_a_wish_made_while_in_stock_waits_for_the_next_return():
    listing = WishList("SHOPIFY", "SH-TEE-1")
    listing.apply_figure(figure(1, 5), NOW)
    listing.seal()
    assert listing.apply_wish(wish(WISH), NOW) == []
    listing.apply_figure(figure(2, 0, OUT_OF_STOCK), NOW)
    listing.seal()
    assert notices(listing.apply_figure(figure(3, 2), NOW)) == [("w1", "cust-4711", 2)]


def test_a_preorder_figure_is_not_back_in_stock():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    assert listing.apply_figure(figure(2, 4, PREORDER), NOW) == []


def test_a_return_undone_within_its_epoch_withdraws_its_notice_and_the_wish_waits_on():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    assert len(listing.apply_figure(figure(2, 7), NOW)) == 1
    key = notice_key("SHOPIFY", "SH-TEE-1", "w1")
    assert listing.apply_figure(figure(2, 0, OUT_OF_STOCK, at=1), NOW) == [Withdrawn(NOTICE_KIND, key)]
    listing.seal()
    assert notices(listing.apply_figure(figure(3, 3), NOW)) == [("w1", "cust-4711", 3)]


def test_a_feed_withdrawal_restores_the_figure_the_epoch_began_with():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    listing.apply_figure(figure(2, 7), NOW)
    assert listing.withdraw_figure(NOW) == [Withdrawn(NOTICE_KIND, notice_key("SHOPIFY", "SH-TEE-1", "w1"))]


def test_consent_withdrawn_in_the_epoch_of_the_notice_withdraws_it_and_the_batch_publishes_nothing():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    batch = EpochBatch()
    for out in listing.apply_figure(figure(2, 7), NOW) + listing.apply_wish(wish(CONSENT_WITHDRAWN, at=1), NOW):
        batch.add(out)
    assert batch.close() == []


def test_stale_and_repeated_channel_records_change_nothing():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    listing.apply_figure(figure(3, 0, OUT_OF_STOCK), NOW)
    listing.seal()
    assert listing.apply_figure(figure(2, 9), NOW) == []  # older than applied
    assert listing.apply_figure(figure(3, 9), NOW) == []  # same version, same time: a repeat


WISH_EVENTS = [
    wish(WISH, "w1", at=1),
    wish(WISH, "w1", at=1),  # a re-sent event
    wish(CONSENT_WITHDRAWN, "w1", at=3),
    wish(WISH, "w2", consent=False, at=1),
    wish(WISH, "w2", consent=True, at=4),
    wish(WISH, "w3", at=1),
    wish(WITHDRAW, "w3", at=2),
    wish(WISH, "w4", at=5),
    wish(FORGET, "w5", at=1),
    wish(WISH, "w5", at=2),  # after the forget in time, but the forget closed the wish for good
]


def test_wish_events_in_any_order_and_repeated_give_the_same_wishes_and_the_same_notices():
    told = set()
    states = set()
    rng = random.Random(18)
    for _ in range(500):
        order = list(WISH_EVENTS)
        rng.shuffle(order)
        listing = sold_out_listing()
        for event in order:
            listing.apply_wish(event, NOW)
        states.add(tuple(sorted(listing.wishes.items())))
        told.add(tuple(sorted(notices(listing.apply_figure(figure(2, 7), NOW)))))
    assert len(states) == 1
    assert told == {(("w2", "cust-4711", 7), ("w4", "cust-4711", 7))}


def test_a_listing_resumed_from_its_snapshot_after_a_notice_does_not_tell_again():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    listing.apply_figure(figure(2, 7), NOW)
    listing.seal()
    resumed = pickle.loads(pickle.dumps(listing))
    assert resumed.apply_wish(wish(WISH), NOW) == []  # the channel re-sends the wish
    assert resumed.apply_figure(figure(2, 7), NOW) == []  # the feed re-sends its record


def test_a_wish_told_or_closed_is_let_go_of_once_nothing_from_before_can_come_again():
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH, "w1"), NOW)
    listing.apply_wish(wish(WISH, "w2", at=1), NOW)
    listing.apply_wish(wish(WITHDRAW, "w2", at=2), NOW)
    listing.apply_wish(wish(WISH, "w3", consent=False), NOW)
    assert listing.deadline_ms() == NOW + 2 + DONE_WISH_MEMORY_MS  # the withdrawn wish; w1 is not done yet
    listing.apply_figure(figure(2, 7), NOW + 10)
    listing.seal()
    assert listing.deadline_ms() == NOW + 2 + DONE_WISH_MEMORY_MS
    listing.let_go(NOW + 2 + DONE_WISH_MEMORY_MS)
    assert set(listing.wishes) == {"w1", "w3"}
    assert listing.deadline_ms() == NOW + 10 + DONE_WISH_MEMORY_MS  # told at NOW + 10
    listing.let_go(NOW + 10 + DONE_WISH_MEMORY_MS)
    assert set(listing.wishes) == {"w3"} and listing.deadline_ms() is None  # a live wish waits on


def test_forget_reaches_every_wish_of_the_customer_and_keeps_no_ref():
    customer = CustomerWishes(customer_key(customer_sha256("cust-4711")))
    assert customer.apply(wish(WISH, "w1", at=1)) == [wish(WISH, "w1", at=1)]
    customer.apply(wish(WISH, "w2", at=1))
    forgotten = customer.apply(CustomerForgotten("f1", NOW + 10, ORIGIN, customer_sha256("cust-4711")))
    assert [(f.wish_id, f.op, f.customer_ref) for f in forgotten] == [("w1", FORGET, ""), ("w2", FORGET, "")]
    assert customer.apply(wish(WISH, "w1", at=5)) == []  # re-sent from before the request: it stands
    assert customer.apply(wish(WISH, "w9", at=20)) == [wish(WISH, "w9", at=20)]  # a new wish after it

    listing = sold_out_listing()
    listing.apply_wish(wish(WISH, "w1", at=1), NOW)
    listing.apply_wish(forgotten[0], NOW)
    assert listing.wishes["w1"].customer_ref == "" and listing.wishes["w1"].closed
    assert listing.apply_figure(figure(2, 7), NOW) == []


def test_a_forgotten_customer_is_let_go_of_once_nothing_from_before_can_come_again():
    customer = CustomerWishes(customer_key(customer_sha256("cust-4711")))
    customer.apply(CustomerForgotten("f1", NOW, ORIGIN, customer_sha256("cust-4711")))
    deadline = customer.deadline_ms()
    assert deadline is not None and deadline > NOW
    customer.expire(deadline)
    assert customer.is_empty


def test_no_key_or_repr_carries_the_customer_ref():
    assert "cust-4711" not in customer_key(customer_sha256("cust-4711"))
    assert "cust-4711" not in repr(wish(WISH))
    listing = sold_out_listing()
    listing.apply_wish(wish(WISH), NOW)
    assert "cust-4711" not in repr(listing)
    [notice] = listing.apply_figure(figure(2, 7), NOW)
    assert "cust-4711" not in repr(notice)
