"""A day's trading as Debezium change events: stock moves at DCs and stores, till sales, cart holds.

A hot set of SKUs (``hot_share`` of the sellable range) takes most of the changes, as best sellers do.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from atp.demo.legacy_rows import DemoData
from bench.shapes import ChangeLog, Message, Transaction, erp_change, pos_change, reservation_message

HOT_SHARE_OF_CHANGES = 0.8


@dataclass(frozen=True)
class Mix:
    """Share of each kind of change (a till sale is three messages: ticket, line, shelf)."""

    dc_stock: float = 0.40
    store_stock: float = 0.30
    till_sale: float = 0.15
    cart_hold: float = 0.15


@dataclass
class Assortment:
    """What can move: sellable SKUs (stocked, active, listed on Shopify), their UPCs, the locations."""

    sellable: list[str]
    hot: list[str]
    upc_of: dict[str, str]
    dcs: list[str]
    stores: list[str]
    shelf: dict[tuple[str, str], int] = field(default_factory=dict)  # (store, upc) -> on hand
    dc_on_hand: dict[tuple[str, str], int] = field(default_factory=dict)  # (sku, dc) -> on hand


def assortment(data: DemoData, hot_share: float, seed: int = 7) -> Assortment:
    listed = {row.item_no for row in data.listings if row.channel_cd == "SHOPIFY" and row.active_flg == "Y"}
    sellable = sorted(
        item.item_no
        for item in data.items
        if item.item_type == "S" and item.status_flg == "A" and item.upc and item.item_no in listed
    )
    rng = random.Random(seed)
    hot = sorted(rng.sample(sellable, k=max(1, round(hot_share * len(sellable)))))
    upc_of = {item.item_no: item.upc for item in data.items if item.upc}
    dcs = sorted({row.loc_cd for row in data.locations if row.loc_type == "D"})
    stores = sorted(row.store_id for row in data.stores)
    carried = {(row.store_id, row.upc): row.on_hand for row in data.store_stock}
    dc_stock = {(row.item_no, row.loc_cd): int(row.qty_oh) for row in data.stock_bal}
    return Assortment(sellable, hot, upc_of, dcs, stores, carried, dc_stock)


def _pick_sku(rng: random.Random, shop: Assortment) -> str:
    return rng.choice(shop.hot if rng.random() < HOT_SHARE_OF_CHANGES else shop.sellable)


def trading(log: ChangeLog, shop: Assortment, changes: int, mix: Mix = Mix(), seed: int = 11) -> Iterator[Message]:
    """``changes`` business changes as input messages (a till sale yields three)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    ticket = 10_000_000
    kinds = ("dc_stock", "store_stock", "till_sale", "cart_hold")
    weights = (mix.dc_stock, mix.store_stock, mix.till_sale, mix.cart_hold)
    stamp = int(now.replace(tzinfo=None).timestamp() * 1000)
    for n in range(changes):
        kind = rng.choices(kinds, weights)[0]
        sku = _pick_sku(rng, shop)
        if kind == "dc_stock":
            dc = rng.choice(shop.dcs)
            old = shop.dc_on_hand.get((sku, dc), 0)
            new = max(0, old + rng.choice((-3, -2, -1, -1, 1, 24)))
            shop.dc_on_hand[(sku, dc)] = new
            before = {"ITEM_NO": sku, "LOC_CD": dc, "QTY_OH": f"{old}.000", "QTY_HOLD": "0.000", "UPD_TS": stamp}
            after = before | {"QTY_OH": f"{new}.000", "UPD_TS": stamp + n}
            tx = log.begin("erp")
            yield erp_change(log, "STOCK_BAL", ("ITEM_NO", "LOC_CD"), after, before, tx)
            yield tx.end()
        elif kind == "store_stock" and shop.stores:
            tx = log.begin("pos")
            yield _shelf_move(
                log, shop, rng.choice(shop.stores), shop.upc_of[sku], rng.choice((-1, 1, 6)), stamp + n, tx
            )
            yield tx.end()
        elif kind == "till_sale" and shop.stores:
            store, upc = rng.choice(shop.stores), shop.upc_of[sku]
            ticket += 1
            opened = now.isoformat()
            ticket_row = {
                "ticket_id": ticket, "store_id": store, "opened_at": opened, "status": "PAID",
            }  # fmt: skip
            tx = log.begin("pos")  # a till sale: ticket, line and shelf in one transaction
            yield pos_change(log, "sale_ticket", ("ticket_id",), ticket_row, tx=tx)
            line = {"ticket_id": ticket, "line_no": 1, "upc": upc, "qty": 1, "unit_price": "19.90"}
            yield pos_change(log, "sale_line", ("ticket_id", "line_no"), line, tx=tx)
            yield _shelf_move(log, shop, store, upc, -1, stamp + n, tx)
            yield tx.end()
        else:
            dc = rng.choice(shop.dcs)
            yield reservation_message(f"cart-{n:09d}", "SHOPIFY", sku.lower(), dc, rng.choice((1, 1, 2)), "HOLD", now)


def _shelf_move(
    log: ChangeLog, shop: Assortment, store: str, upc: str, delta: int, stamp_ms: int, tx: Transaction
) -> Message:
    old = shop.shelf.get((store, upc), 0)
    new = old + delta if old + delta >= 0 else old + 12  # an empty shelf is restocked, never counted below zero
    shop.shelf[(store, upc)] = new
    before = {"store_id": store, "upc": upc, "on_hand": old, "updated_at": stamp_ms * 1000}
    after = before | {"on_hand": new, "updated_at": stamp_ms * 1000 + 1}
    return pos_change(log, "store_stock", ("store_id", "upc"), after, before, tx)
