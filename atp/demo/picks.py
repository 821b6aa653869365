"""Which rows of the seeded demo databases ``atp demo``'s live changes touch: items with stock, a listing, a kit."""

from __future__ import annotations

from dataclasses import dataclass

from atp.settings import Settings
from connectors.legacy_db import erp_connection, pos_connection


def pick_dc_item(settings: Settings) -> tuple[str, str]:
    """(sku, dc) of an active stocked item at a DC: the first, so a rerun picks the same one."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT b.ITEM_NO, TRIM(b.LOC_CD) FROM STOCK_BAL b JOIN ITEM_MASTER i ON i.ITEM_NO = b.ITEM_NO "
            "JOIN LOCATION l ON l.LOC_CD = b.LOC_CD WHERE l.LOC_TYPE = 'D' AND i.ITEM_TYPE = 'S' "
            "AND i.STATUS_FLG = 'A' ORDER BY b.ITEM_NO, b.LOC_CD LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("the demo ERP has no stocked DC item")
    return str(row[0]), str(row[1])


def pick_store_item(settings: Settings) -> tuple[str, str, str]:
    """(sku, store, upc) of an active stocked item with units on the shelf at a store."""
    with pos_connection(settings.stack) as pos, pos.cursor() as cur:
        cur.execute("SELECT store_id, upc FROM store_stock WHERE on_hand >= 3 ORDER BY store_id, upc LIMIT 200")
        candidates = [(str(s), str(u)) for s, u in cur.fetchall()]
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        for store, upc in candidates:
            cur.execute(
                "SELECT ITEM_NO FROM ITEM_MASTER WHERE UPC = %s AND ITEM_TYPE = 'S' AND STATUS_FLG = 'A'", (upc,)
            )
            row = cur.fetchone()
            if row is not None:
                return str(row[0]), store.strip(), upc
    raise RuntimeError("the demo POS has no store item with stock on hand")


def pick_listed_dc_item(settings: Settings) -> tuple[str, str, str, str]:
    """(sku, dc, channel, channel_sku) of an active stocked item with units at a DC and a live listing."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT b.ITEM_NO, TRIM(b.LOC_CD), c.CHANNEL_CD, c.CHANNEL_SKU FROM STOCK_BAL b "
            "JOIN ITEM_MASTER i ON i.ITEM_NO = b.ITEM_NO JOIN LOCATION l ON l.LOC_CD = b.LOC_CD "
            "JOIN CHANNEL_LISTING c ON c.ITEM_NO = b.ITEM_NO AND c.ACTIVE_FLG = 'Y' "
            "WHERE l.LOC_TYPE = 'D' AND i.ITEM_TYPE = 'S' AND i.STATUS_FLG = 'A' AND b.QTY_OH - b.QTY_HOLD >= 10 "
            "ORDER BY b.ITEM_NO, b.LOC_CD, c.CHANNEL_CD LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("the demo ERP has no listed DC item with stock")
    return str(row[0]), str(row[1]), str(row[2]), str(row[3])


@dataclass(frozen=True)
class KitScene:
    kit: str
    location: str
    component: str
    per_kit: int
    component_upc: str | None


def pick_kit(settings: Settings) -> KitScene:
    """A kit that can be promised somewhere, and the component that limits it there."""
    from atp.analyst import run_query

    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT k.KIT_ITEM_NO, k.COMP_ITEM_NO, k.COMP_QTY, c.UPC FROM KIT_COMPONENT k "
            "JOIN ITEM_MASTER c ON c.ITEM_NO = k.COMP_ITEM_NO ORDER BY k.KIT_ITEM_NO"
        )
        bom: dict[str, list[tuple[str, int, str | None]]] = {}
        for kit, part, per_kit, upc in cur.fetchall():
            bom.setdefault(str(kit), []).append((str(part), int(per_kit), str(upc) if upc else None))
    if not bom:
        raise RuntimeError("the demo ERP has no kits")

    def available_at(sku: str) -> dict[str, int]:
        rows = run_query(
            settings.store,
            "SELECT location, available FROM atp.location_availability FINAL WHERE sku = {sku:String}",
            {"sku": sku},
        )
        return {str(r["location"]): int(r["available"]) for r in rows}

    for kit, parts in sorted(bom.items()):
        kit_available = available_at(kit)
        # A DC first: its components are ERP balances, so the scene needs no POS ticket.
        for location in sorted((loc for loc, n in kit_available.items() if n > 0), key=lambda c: (c[:2] != "DC", c)):
            limiting = min(parts, key=lambda c: available_at(c[0]).get(location, 0) // c[1])
            return KitScene(kit, location, limiting[0], limiting[1], limiting[2])
    raise RuntimeError("no demo kit can be promised anywhere")


def listing_on(settings: Settings, channel: str, sku: str) -> str | None:
    """``sku``'s live channel SKU on ``channel``, or None if it is not listed there."""
    with erp_connection(settings.stack) as erp, erp.cursor() as cur:
        cur.execute(
            "SELECT CHANNEL_SKU FROM CHANNEL_LISTING WHERE CHANNEL_CD = %s AND ITEM_NO = %s AND ACTIVE_FLG = 'Y' "
            "ORDER BY CHANNEL_SKU LIMIT 1",
            (channel, sku),
        )
        row = cur.fetchone()
    return None if row is None else str(row[0])
