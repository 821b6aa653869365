"""The typed settings of atp-stream, one frozen part per concern (:mod:`atp.settings.parts`), read from
``ATP_*`` environment variables once (:mod:`atp.settings.environment`)."""

from atp.settings.environment import (
    PROJECT_ROOT,
    TOOL_VARIABLES,
    EnvironmentSettings,
    load_settings,
    settings_from_fields,
)
from atp.settings.parts import (
    ApiSettings,
    ChannelSettings,
    DataflowSettings,
    EngineSettings,
    KafkaSettings,
    LocalStackSettings,
    Settings,
    StoreSettings,
    WebhookEndpoint,
    WebhookSettings,
)

__all__ = [
    "PROJECT_ROOT",
    "TOOL_VARIABLES",
    "ApiSettings",
    "ChannelSettings",
    "DataflowSettings",
    "EngineSettings",
    "EnvironmentSettings",
    "KafkaSettings",
    "LocalStackSettings",
    "Settings",
    "StoreSettings",
    "WebhookEndpoint",
    "WebhookSettings",
    "load_settings",
    "settings_from_fields",
]
