"""Properties of the engine under the inputs real channels and CDC produce: duplicated, reordered, racing.

The oracle is the obvious one: it sees every input once, in true order, and
applies the contract's arithmetic. Whatever order the engine sees the inputs in,
it must never promise more than the oracle, and once the same inputs have all
arrived it must agree with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from atp.domain.events import ReservationReceived, StockLevel
from atp.domain.reservations import CONFIRM, FULFILL, HOLD, RELEASE
from atp.domain.sku_state import SkuState
from tests.engine_inputs import MINUTE, NOW, RULES, item, reservation, stock

GRACE = RULES.fulfil_grace_ms
ENDINGS = ((), (RELEASE,), (CONFIRM,), (CONFIRM, RELEASE), (CONFIRM, FULFILL), (FULFILL,))


@dataclass(frozen=True)
class Timed:
    at: int  # true time of the input
    seq: int  # true order among inputs at the same time
    event: StockLevel | ReservationReceived


@st.composite
def timelines(draw: st.DrawFn, with_fulfil: bool = True) -> list[Timed]:
    """Stock counts and a few reservation lifecycles, stamped with their true times."""
    inputs: list[Timed] = []
    seq = 0
    for n in range(draw(st.integers(1, 6))):
        at = NOW + draw(st.integers(0, 60 * MINUTE))
        inputs.append(Timed(at, seq, stock(draw(st.integers(0, 30)), 100 + n)))
        seq += 1
    endings = ENDINGS if with_fulfil else tuple(e for e in ENDINGS if FULFILL not in e)
    for r in range(draw(st.integers(0, 4))):
        qty = draw(st.integers(1, 5))
        expires = NOW + draw(st.integers(1, 90 * MINUTE))
        ops = (HOLD, *draw(st.sampled_from(endings)))
        times = sorted(draw(st.lists(st.integers(0, 60 * MINUTE), min_size=len(ops), max_size=len(ops))))
        for op, at in zip(ops, times, strict=True):
            event = reservation(op, rid=f"r{r}", qty=qty, at=NOW + at, expires=expires if op == HOLD else None)
            inputs.append(Timed(NOW + at, seq, event))
            seq += 1
    # Stock positions follow true time: the ERP commits changes in the order they happen.
    stock_times = sorted(t.at for t in inputs if isinstance(t.event, StockLevel))
    return _restamp(inputs, stock_times)


def _restamp(inputs: list[Timed], stock_times: list[int]) -> list[Timed]:
    by_position = sorted((t for t in inputs if isinstance(t.event, StockLevel)), key=lambda t: t.event.position)
    at_of = {id(t): at for t, at in zip(by_position, stock_times, strict=True)}
    restamped = []
    for t in inputs:
        if isinstance(t.event, StockLevel):
            e = t.event
            event = stock(e.on_hand, e.position[1], at=at_of[id(t)])
            restamped.append(Timed(at_of[id(t)], t.seq, event))
        else:
            restamped.append(t)
    return restamped


def oracle_available(inputs: list[Timed], now: int) -> int:
    """The contract's arithmetic over the inputs seen once each in true order.

    A shipment has left on-hand once on-hand has fallen, since the last level before it
    shipped, by its units plus those of earlier shipments that left since that level.
    """
    levels: list[tuple[int, int]] = []  # (at, on_hand) in true order
    phases: dict[str, str] = {}
    qty: dict[str, int] = {}
    expires: dict[str, int] = {}
    shipped: dict[str, tuple[int, int | None]] = {}  # rid -> (shipped at, index of the last level before)
    for t in sorted(inputs, key=lambda t: (t.at, t.seq)):
        e = t.event
        if isinstance(e, StockLevel):
            levels.append((t.at, e.on_hand))
            continue
        qty[e.reservation_id] = e.qty
        phase = phases.get(e.reservation_id, "none")
        if e.op == HOLD and phase == "none":
            phases[e.reservation_id], expires[e.reservation_id] = "held", e.expires_at_ms
        elif e.op == CONFIRM and phase in ("none", "held"):
            phases[e.reservation_id] = "committed"
        elif e.op == RELEASE and phase != "shipped":
            phases[e.reservation_id] = "gone"
        elif e.op == FULFILL:
            phases[e.reservation_id] = "shipped"
            shipped[e.reservation_id] = (e.occurred_at_ms, len(levels) - 1 if levels else None)
    claimed: list[tuple[int, int]] = []
    for rid, (at, base) in sorted(shipped.items(), key=lambda s: (s[1][0], s[0])):
        if phases[rid] != "shipped" or base is None or now >= at + GRACE or base == len(levels) - 1:
            continue
        also = sum(u for f, u in claimed if f >= levels[base][0])
        if levels[base][1] - min(h for _, h in levels[base + 1 :]) >= qty[rid] + also:
            phases[rid] = "gone"
            claimed.append((at, qty[rid]))

    def holds_back(rid: str, phase: str) -> bool:
        if phase == "held":
            return now < expires[rid]
        return phase == "committed" or (phase == "shipped" and now < shipped[rid][0] + GRACE)

    on_hand = levels[-1][1] if levels else 0
    return max(0, on_hand - sum(qty[rid] for rid, phase in phases.items() if holds_back(rid, phase)))


def engine_available(arrivals: list[Timed], now: int, received: int | None = None) -> tuple[SkuState, int]:
    """What the engine publishes at ``now``, the inputs received at ``received`` (by default, at ``now``)."""
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    for t in arrivals:
        state.apply(t.event, now if received is None else received, RULES)
    state.on_timer(now, RULES)
    if "DC0001" not in state.locations:
        return state, 0
    return state, state.figures("DC0001", now, RULES).available


def describe(arrivals: list[Timed], now: int) -> str:
    """The delivery order, one input per line, relative to NOW (for a failing example)."""
    lines = [f"now=+{now - NOW}"]
    for t in arrivals:
        e = t.event
        if isinstance(e, StockLevel):
            lines.append(f"  at+{t.at - NOW} seq{t.seq} stock pos{e.position[1]} on_hand={e.on_hand}")
        else:
            expires = "" if e.expires_at_ms is None else f" expires+{e.expires_at_ms - NOW}"
            lines.append(f"  at+{t.at - NOW} seq{t.seq} {e.reservation_id} {e.op} qty={e.qty}{expires}")
    return "\n".join(lines)


def deliveries(draw: st.DrawFn, inputs: list[Timed]) -> list[Timed]:
    """The inputs as they might arrive: shuffled, some twice."""
    duplicates = draw(st.lists(st.sampled_from(inputs), max_size=4)) if inputs else []
    arrived = inputs + duplicates
    draw(st.randoms(use_true_random=False)).shuffle(arrived)
    return arrived


@settings(max_examples=300, deadline=None)
@given(data=st.data(), now_offset=st.integers(0, 200 * MINUTE))
def test_available_is_never_negative_nor_above_the_in_order_oracle_at_any_point(data, now_offset):
    inputs = data.draw(timelines())
    arrived = deliveries(data.draw, inputs)
    now = NOW + now_offset
    for cut in range(len(arrived) + 1):
        seen = arrived[:cut]
        _, ours = engine_available(seen, now)
        distinct = list({id(t): t for t in seen}.values())
        assert 0 <= ours <= oracle_available(distinct, now), describe(seen, now)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), now_offset=st.integers(0, 200 * MINUTE))
def test_any_order_with_duplicates_ends_in_the_oracle_state(data, now_offset):
    """Without shipments, the final state is the oracle's whatever the delivery order."""
    inputs = data.draw(timelines(with_fulfil=False))
    arrived = deliveries(data.draw, inputs)
    now = NOW + now_offset
    assert engine_available(arrived, now)[1] == oracle_available(inputs, now)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_with_shipments_every_order_converges_once_the_grace_periods_are_over(data):
    inputs = data.draw(timelines())
    arrived = deliveries(data.draw, inputs)
    received = NOW + 60 * MINUTE  # every input is in by then; a FULFILL's grace counts from its receipt
    settled = received + GRACE + 1
    assert engine_available(arrived, settled, received)[1] == oracle_available(inputs, settled)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_every_hold_is_released_exactly_once(data):
    """Delivered over time with timers firing in between, a hold's units are held at most once and let go once."""
    expires = NOW + data.draw(st.integers(1, 30)) * MINUTE
    ending = data.draw(st.sampled_from([(), (RELEASE,), (RELEASE, RELEASE)]))
    events = [reservation(HOLD, qty=3, expires=expires)] + [
        reservation(op, qty=3, at=NOW + MINUTE, event_id=f"release-{n}") for n, op in enumerate(ending)
    ]
    arrivals = events + data.draw(st.lists(st.sampled_from(events), max_size=3))
    data.draw(st.randoms(use_true_random=False)).shuffle(arrivals)
    state = SkuState("TEE-1")
    state.apply(item(), NOW, RULES)
    state.apply(stock(10, 100), NOW, RULES)
    reserved = [0]
    clock = NOW
    for event in arrivals:
        clock += data.draw(st.integers(0, 20)) * MINUTE
        for out in state.on_timer(clock, RULES) + state.apply(event, clock, RULES):
            if hasattr(out, "reserved") and out.reserved != reserved[-1]:
                reserved.append(out.reserved)
    for out in state.on_timer(expires + 1, RULES):
        if hasattr(out, "reserved") and out.reserved != reserved[-1]:
            reserved.append(out.reserved)
    assert reserved in ([0], [0, 3, 0])
