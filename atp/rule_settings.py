"""The engine's rules as the settings configure them (no Bytewax here: the bench's Quix peer uses it too)."""

from __future__ import annotations

from atp.domain.channels import ChannelPolicy, ChannelRules
from atp.domain.engine_rules import EngineRules
from atp.settings import Settings


def rules_from(settings: Settings) -> EngineRules:
    return EngineRules(
        low_stock_threshold=settings.low_stock_threshold,
        fulfil_grace_ms=settings.fulfil_grace_s * 1000,
        dc_safety_stock=settings.dc_safety_stock,
        store_safety_stock=settings.store_safety_stock,
        dynamic_safety_factor=settings.dynamic_safety_factor,
        sales_window_days=settings.sales_window_days,
        unresolved_wait_ms=settings.unresolved_wait_s * 1000,
        default_timezone=settings.timezone,
        location_timezones=dict(settings.location_timezones),
    )


def channel_rules_from(settings: Settings) -> ChannelRules:
    policies = {}
    for channel in {*settings.channel_fulfilment, *settings.channel_buffers}:
        where = settings.channel_fulfilment.get(channel, "online")
        buffer = settings.channel_buffers.get(channel, 0)
        policies[channel] = ChannelPolicy(
            fulfil_from=tuple(where) if isinstance(where, list) else where,
            buffer_units=buffer if isinstance(buffer, int) else 0,
            buffer_share=float(buffer.rstrip("%")) / 100 if isinstance(buffer, str) else 0.0,
        )
    return ChannelRules(policies=policies, low_stock_threshold=settings.low_stock_threshold, timezone=settings.timezone)
