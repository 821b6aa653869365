"""The engine's rules as the settings configure them.

``rules_from`` and ``channel_rules_from`` import no Bytewax (the bench's Quix peer uses them too);
``flow_policy`` imports the engine's topology module only when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atp.domain.channels import ChannelPolicy, ChannelRules
from atp.domain.engine_rules import EngineRules
from atp.domain.promotable import PromotionRules
from atp.settings import ChannelSettings, EngineSettings, Settings

if TYPE_CHECKING:
    from flows.availability import FlowPolicy


def rules_from(engine: EngineSettings) -> EngineRules:
    return EngineRules(
        low_stock_threshold=engine.low_stock_threshold,
        fulfil_grace_ms=engine.fulfil_grace_s * 1000,
        dc_safety_stock=engine.dc_safety_stock,
        store_safety_stock=engine.store_safety_stock,
        dynamic_safety_factor=engine.dynamic_safety_factor,
        sales_window_days=engine.sales_window_days,
        unresolved_wait_ms=engine.unresolved_wait_s * 1000,
        default_timezone=engine.timezone,
        location_timezones=dict(engine.location_timezones),
        max_hold_ms=engine.max_hold_s * 1000,
    )


def channel_rules_from(channels: ChannelSettings, engine: EngineSettings) -> ChannelRules:
    policies = {}
    for channel in {*channels.fulfilment, *channels.buffers}:
        where = channels.fulfilment.get(channel, "online")
        buffer = channels.buffers.get(channel, 0)
        policies[channel] = ChannelPolicy(
            fulfil_from=tuple(where) if isinstance(where, list) else where,
            buffer_units=buffer if isinstance(buffer, int) else 0,
            buffer_share=float(buffer.rstrip("%")) / 100 if isinstance(buffer, str) else 0.0,
        )
    return ChannelRules(policies=policies, low_stock_threshold=engine.low_stock_threshold, timezone=engine.timezone)


def promotion_rules_from(channels: ChannelSettings) -> PromotionRules:
    return PromotionRules(
        min_available=channels.promotable_min_available,
        stable_ms=round(channels.promotable_stable_s * 1000),
        min_available_by_channel=dict(channels.promotable_min),
    )


def flow_policy(settings: Settings) -> FlowPolicy:
    """Everything the availability dataflow's rules take from settings."""
    from flows.availability import FlowPolicy

    return FlowPolicy(
        rules=rules_from(settings.engine),
        channel_rules=channel_rules_from(settings.channels, settings.engine),
        channels=frozenset(settings.channels.channels),
        promotion_rules=promotion_rules_from(settings.channels),
        tx_wait_ms=settings.engine.tx_wait_s * 1000,
        tx_max_changes=settings.engine.tx_max_changes,
    )
