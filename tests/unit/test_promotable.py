"""The promotions gate (atp.domain.promotable): a channel SKU is promotable once its channel figure has held at or
above the threshold for the stable time, and stops being promotable the moment it falls below."""

from __future__ import annotations

import pickle

from hypothesis import given, settings
from hypothesis import strategies as st

from atp.domain.channels import ChannelRecord
from atp.domain.promotable import PROMOTABLE_KIND, PromotableRecord, PromotionGate, PromotionRules
from atp.domain.records import Withdrawn
from atp.domain.rules import IN_STOCK, LOW_STOCK, OUT_OF_STOCK, PREORDER

RULES = PromotionRules(min_available=10, stable_ms=60_000, min_available_by_channel={"AMAZON": 25})
T0 = 1_700_000_000_000


def figure(version: int, available: int, at_ms: int, status: str = IN_STOCK, sku: str = "TEE-1") -> ChannelRecord:
    status = status if available > 0 else OUT_OF_STOCK
    return ChannelRecord("SHOPIFY", "SH-TEE-1", sku, available, status, None, version, at_ms)


def gate(channel: str = "SHOPIFY") -> PromotionGate:
    return PromotionGate(channel, "SH-TEE-1")


def verdicts(out: list) -> list[tuple[bool, int, int, int]]:
    return [(r.promotable, r.available, r.since_ms, r.version) for r in out if isinstance(r, PromotableRecord)]


def test_a_figure_that_rises_and_holds_for_the_stable_time_is_promotable_at_its_deadline():
    g = gate()
    assert g.apply(figure(1, 12, T0), T0, RULES) == []
    assert g.deadline_ms(RULES) == T0 + 60_000
    assert g.on_timer(T0 + 59_999, RULES) == []  # a timer a moment early promises nothing
    [record] = g.on_timer(T0 + 60_000, RULES)
    assert record == PromotableRecord("SHOPIFY", "SH-TEE-1", "TEE-1", True, 12, 10, T0, 1, T0 + 60_000)
    assert record.key == "SH-TEE-1"
    assert g.deadline_ms(RULES) is None


def test_a_change_that_stays_above_the_threshold_keeps_the_run_going():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.seal()
    assert g.apply(figure(2, 30, T0 + 20_000), T0 + 20_000, RULES) == []
    assert g.deadline_ms(RULES) == T0 + 60_000  # counted from when it first rose


def test_a_dip_before_the_deadline_publishes_nothing_and_restarts_the_wait():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.seal()
    assert g.apply(figure(2, 9, T0 + 30_000), T0 + 30_000, RULES) == []
    assert g.deadline_ms(RULES) is None
    assert g.on_timer(T0 + 60_000, RULES) == []
    g.seal()
    assert g.apply(figure(3, 15, T0 + 40_000), T0 + 40_000, RULES) == []
    assert g.deadline_ms(RULES) == T0 + 100_000
    assert verdicts(g.on_timer(T0 + 100_000, RULES)) == [(True, 15, T0 + 40_000, 1)]


def test_a_drop_below_the_threshold_is_not_promotable_at_once_with_the_next_version():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.on_timer(T0 + 60_000, RULES)
    g.seal()
    out = g.apply(figure(2, 3, T0 + 90_000, LOW_STOCK), T0 + 90_000, RULES)
    assert verdicts(out) == [(False, 3, T0 + 90_000, 2)]
    assert g.deadline_ms(RULES) is None


def test_stock_not_on_hand_and_a_per_channel_minimum_are_never_promotable():
    preorder = gate()
    preorder.apply(figure(1, 50, T0, PREORDER), T0, RULES)
    assert preorder.deadline_ms(RULES) is None and preorder.on_timer(T0 + 10**9, RULES) == []
    amazon = gate("AMAZON")
    amazon.apply(figure(1, 20, T0), T0, RULES)  # enough for SHOPIFY, not for AMAZON's 25
    assert amazon.deadline_ms(RULES) is None
    amazon.seal()
    amazon.apply(figure(2, 25, T0 + 1), T0 + 1, RULES)
    assert [r.threshold for r in amazon.on_timer(T0 + 60_001, RULES)] == [25]


def test_a_dip_inside_one_epoch_that_the_channel_never_published_changes_nothing():
    """The feed's records of one version replace each other (a transfer between DCs dips the sum for an instant):
    only the version's last figure counts."""
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.on_timer(T0 + 60_000, RULES)
    g.seal()
    dipped = g.apply(figure(2, 2, T0 + 70_000), T0 + 70_000, RULES)
    assert verdicts(dipped) == [(False, 2, T0 + 70_000, 2)]
    back = g.apply(figure(2, 12, T0 + 70_001), T0 + 70_001, RULES)
    assert back == [Withdrawn(PROMOTABLE_KIND, "SHOPIFY/SH-TEE-1")]  # the epoch ends where it began
    assert g.promotable and g.version == 1 and g.deadline_ms(RULES) is None


def test_a_withdrawn_channel_version_restores_the_figure_before_it():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.on_timer(T0 + 60_000, RULES)
    g.seal()
    g.apply(figure(2, 0, T0 + 70_000), T0 + 70_000, RULES)
    assert g.withdraw(T0 + 70_001, RULES) == [Withdrawn(PROMOTABLE_KIND, "SHOPIFY/SH-TEE-1")]
    assert g.withdraw(T0 + 70_002, RULES) == []  # a repeated withdrawal changes nothing
    assert g.promotable and g.figure is not None and g.figure.available == 12 and g.figure.run_since_ms == T0
    g.seal()
    # the feed's next change takes the withdrawn version again
    assert verdicts(g.apply(figure(2, 5, T0 + 80_000), T0 + 80_000, RULES)) == [(False, 5, T0 + 80_000, 2)]


def test_repeated_and_stale_records_change_nothing():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.seal()
    g.apply(figure(2, 14, T0 + 10_000), T0 + 10_000, RULES)
    before = pickle.dumps(g)
    assert g.apply(figure(2, 14, T0 + 10_000), T0 + 20_000, RULES) == []
    assert g.apply(figure(1, 12, T0), T0 + 20_000, RULES) == []
    assert pickle.dumps(g) == before


def test_a_dip_that_arrives_late_delays_promotion_and_never_hastens_it():
    in_order, late = gate(), gate()
    records = [figure(1, 12, T0), figure(2, 3, T0 + 10_000), figure(3, 12, T0 + 20_000)]
    for r in records:
        in_order.apply(r, r.computed_ts_ms, RULES)
    for r in (records[0], records[2], records[1]):
        late.apply(r, r.computed_ts_ms, RULES)
    assert in_order.deadline_ms(RULES) == late.deadline_ms(RULES) == T0 + 80_000


def test_a_listing_remapped_to_another_item_waits_its_stable_time_again():
    g = gate()
    g.apply(figure(1, 12, T0), T0, RULES)
    g.on_timer(T0 + 60_000, RULES)
    g.seal()
    out = g.apply(figure(2, 40, T0 + 90_000, sku="TEE-2"), T0 + 90_000, RULES)
    assert verdicts(out) == [(False, 40, T0 + 90_000, 2)]
    assert g.deadline_ms(RULES) == T0 + 150_000


def run(records: list[ChannelRecord], end_ms: int) -> tuple[PromotionGate, list]:
    """Each record in its own epoch, the timer fired when due; then the timer once more at ``end_ms``."""
    g, out = gate(), []
    for r in records:
        deadline = g.deadline_ms(RULES)
        if deadline is not None and deadline <= r.computed_ts_ms:
            out += g.on_timer(deadline, RULES)
            g.seal()
        out += g.apply(r, r.computed_ts_ms, RULES)
        g.seal()
    out += g.on_timer(end_ms, RULES)
    return g, out


figures_over_time = st.lists(st.tuples(st.integers(0, 30), st.integers(1, 90_000)), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(steps=figures_over_time, data=st.data())
def test_repeated_or_reordered_records_end_in_the_same_verdict_with_contiguous_versions(steps, data):
    at, records = T0, []
    for version, (available, gap_ms) in enumerate(steps, start=1):
        at += gap_ms
        records.append(figure(version, available, at))
    end_ms = at + RULES.stable_ms
    reference, published = run(records, end_ms)

    shuffled = data.draw(st.permutations(records + data.draw(st.lists(st.sampled_from(records), max_size=5))))
    g = gate()
    for r in shuffled:
        g.apply(r, r.computed_ts_ms, RULES)
        g.seal()
    g.on_timer(end_ms, RULES)

    last = records[-1]
    assert g.promotable == reference.promotable == (last.available >= RULES.min_available)
    assert g.figure is not None and (g.figure.version, g.figure.available) == (last.version, last.available)
    # every verdict change is published, with versions 1, 2, 3, ... and alternating verdicts
    shown = [r for r in published if isinstance(r, PromotableRecord)]
    assert [r.version for r in shown] == list(range(1, len(shown) + 1))
    assert [r.promotable for r in shown] == [n % 2 == 0 for n in range(len(shown))]
