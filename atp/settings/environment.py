"""Where the settings come from: the environment, read once.

Every knob is an environment variable named ``ATP_<FIELD>`` (upper case) and
is listed in the README. :class:`EnvironmentSettings` reads them flat (the
defaults, descriptions and validation of every variable are here);
:func:`load_settings` turns them into the frozen parts of
:class:`atp.settings.parts.Settings`, built once and passed down. A bad value
raises :class:`atp.errors.ConfigError` with a one-line message naming the variable.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from atp.errors import ConfigError
from atp.settings.checks import check_together
from atp.settings.parts import (
    ApiSettings,
    ChannelSettings,
    DataflowSettings,
    EngineSettings,
    KafkaSaslMechanism,
    KafkaSecurityProtocol,
    KafkaSettings,
    LocalStackSettings,
    Settings,
    StoreSettings,
    WebhookEndpoint,
    WebhookSettings,
)

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def _port(default: int, description: str) -> Any:
    """A TCP port setting (1-65535)."""
    return Field(default=default, ge=1, le=65535, description=description)


class EnvironmentSettings(BaseSettings):
    """Every setting as the environment spells it: ``ATP_<FIELD>``, flat; :func:`load_settings` makes the parts."""

    model_config = SettingsConfigDict(env_prefix="ATP_", frozen=True, extra="ignore")

    # -- where state and logs live -------------------------------------------------
    home: Path = Field(
        default=PROJECT_ROOT / ".atp",
        description="Project-local folder for service data, logs, jars and recovery state.",
    )

    lib_dir: Path = Field(
        default=PROJECT_ROOT / ".atp" / "lib",
        description="Jars and archives fetched from Maven Central (shared by every ATP_HOME).",
    )

    # -- service ports (all servers bind to 127.0.0.1) -------------------------------
    kafka_port: int = _port(19092, "Kafka broker listener.")
    kafka_controller_port: int = _port(19093, "KRaft controller listener.")
    connect_port: int = _port(18083, "Kafka Connect REST API.")
    registry_port: int = _port(18081, "Schema registry HTTP port.")
    registry_management_port: int = _port(18091, "Schema registry management (health) port.")
    postgres_port: int = _port(15432, "POS PostgreSQL port.")
    mariadb_port: int = _port(13306, "ERP MariaDB port.")
    kafka_sasl_port: int = _port(19094, "The local broker's SASL_PLAINTEXT listener (also inter-broker).")
    kafka_ssl_port: int = _port(19095, "The local broker's SASL_SSL listener (certificates: ATP_HOME/secrets/tls).")
    store_port: int = _port(18124, "Query endpoint of the process that owns the chdb store.")
    api_port: int = _port(18180, "ATP lookup API of the supervisor (bearer token in ATP_HOME/secrets/api.token).")
    flow_metrics_port: int = Field(
        default=18100,
        ge=0,
        le=65535,
        description="Prometheus metrics of the dataflow (process k of a cluster: this + k); 0: not served.",
    )
    cluster_port: int = _port(
        18110, "Bytewax cluster of ATP_PROCESSES processes: process k listens on 127.0.0.1 at this + k."
    )
    pipeline_metrics_port: int = Field(
        default=18099,
        ge=0,
        le=65535,
        description="Prometheus metrics of the supervisor (store loader, webhooks, connectors); 0: not served.",
    )

    # -- credentials (demo defaults; override from env or secret files) --------------
    erp_admin_password: SecretStr = Field(default=SecretStr("erp-admin-pw"), description="ERP owner password.")
    erp_cdc_password: SecretStr = Field(
        default=SecretStr("erp-cdc-pw"), description="ERP CDC (read-only) user password."
    )
    pos_admin_password: SecretStr = Field(default=SecretStr("pos-admin-pw"), description="POS owner password.")
    pos_cdc_password: SecretStr = Field(
        default=SecretStr("pos-cdc-pw"), description="POS CDC (read-only) user password."
    )

    # -- Kafka clients (every producer, consumer and admin client of atp, and the dataflow's) --
    kafka_bootstrap: str = Field(
        default="",
        description="host:port[,host:port] of the Kafka cluster the clients use. Empty: the local broker.",
    )
    kafka_security_protocol: KafkaSecurityProtocol = Field(
        default="SASL_SSL",
        description="How the clients talk to Kafka. The local broker offers SASL_SSL, SASL_PLAINTEXT, and PLAINTEXT "
        "only when this is PLAINTEXT.",
    )
    kafka_sasl_mechanism: KafkaSaslMechanism = Field(
        default="PLAIN", description="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)."
    )
    kafka_sasl_username: str = Field(default="atp", description="SASL user.")
    kafka_sasl_password: SecretStr = Field(
        default=SecretStr(""),
        description="SASL password. Empty: the local broker's, generated into ATP_HOME/secrets/kafka.password.",
    )
    kafka_ssl_ca_file: Path | None = Field(
        default=None,
        description="CA bundle that signs the brokers' certificates (with SSL or SASL_SSL). Unset: the local "
        "broker's CA, ATP_HOME/secrets/tls/ca.pem.",
    )
    # Each SKU's changes are keyed to one partition, so they stay in order; the partitions are the unit of the
    # dataflow's parallelism. Fixed once the topics exist: a different count re-keys (README, "Partitions").
    input_partitions: int = Field(
        default=4,
        ge=1,
        le=1024,
        description="Partitions of the input topics (Debezium's change topics, orders.reservations, atp.reconcile) "
        "and of the output topics, made at the first start; at most this many dataflow processes.",
    )
    registry_url: str = Field(
        default="",
        description="Confluent-compatible API of the schema registry (http://host:port/apis/ccompat/v7). "
        "Empty: the local registry on ATP_REGISTRY_PORT.",
    )
    registry_basic_auth: SecretStr = Field(
        default=SecretStr(""), description="user:password for a schema registry that asks for basic auth."
    )

    # -- ClickHouse ------------------------------------------------------------------
    clickhouse_url: str | None = Field(
        default=None,
        description="A ClickHouse server (http://user:pw@host:8123). Unset: the embedded chdb store under ATP_HOME.",
    )

    # -- startup --------------------------------------------------------------------
    start_timeout_s: float = Field(default=180.0, gt=0, description="How long a service may take to become healthy.")

    # -- the engine ------------------------------------------------------------------
    low_stock_threshold: int = Field(default=5, ge=0, description="available at or below this is LOW_STOCK.")
    fulfil_grace_s: int = Field(
        default=900,
        ge=0,
        description="After a FULFILL, its units stay in `committed` until on-hand is seen to fall, or this long.",
    )
    dc_safety_stock: int = Field(default=0, ge=0, description="Default safety stock at a DC (no planner override).")
    store_safety_stock: int = Field(
        default=1, ge=0, description="Default safety stock at a store (no planner override): shelf shrink."
    )
    dynamic_safety_factor: float = Field(
        default=0.0,
        ge=0,
        description="Dynamic rule: raise safety stock to factor x std-dev of daily store sales (0: off).",
    )
    sales_window_days: int = Field(default=14, ge=2, description="Rolling window of the dynamic safety stock rule.")
    unresolved_wait_s: int = Field(
        default=60,
        ge=0,
        description="How long an input naming an unknown SKU, channel SKU, location or UPC waits before the DLQ.",
    )
    max_hold_s: int = Field(
        default=7 * 86_400,
        ge=1,
        description="The longest a cart hold may last: a HOLD expiring later is held this long and dead-lettered "
        "(hold_too_long).",
    )
    timezone: str = Field(
        default="UTC",
        description="IANA zone in which lots expire (unless set per location) and channels date promises.",
    )
    location_timezones: dict[str, str] = Field(
        default_factory=dict,
        description='Per-location IANA zones as JSON, e.g. {"DC0001": "Europe/Paris"}.',
    )
    # Bytewax's snapshot loader is quadratic in the rows of one partition (bench/results.md): resume at 76k rows
    # took 7.4-11.5 s with 1 partition and 4.6-5.4 s with 8; each partition is one more small SQLite commit per epoch.
    recovery_partitions: int = Field(default=8, ge=1, description="Bytewax recovery partitions (fixed once created).")
    processes: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Dataflow processes `atp run` starts as one Bytewax cluster on this machine "
        "(`atp run --processes N` overrides it); at most the input topics' partitions.",
    )
    snapshot_interval_s: float = Field(
        default=0.2,
        ge=0.01,
        le=60,
        description="Bytewax epoch: records are published at its close, and state and offsets snapshotted (s).",
    )
    tx_wait_s: int = Field(
        default=60,
        ge=1,
        description="How long a source transaction may wait for its missing changes before it is applied as it "
        "stands and dead-lettered (incomplete_transaction).",
    )
    tx_max_changes: int = Field(
        default=10_000,
        ge=1,
        description="Largest source transaction held and applied whole; a larger one is applied as it arrives "
        "and dead-lettered (oversized_transaction).",
    )

    # -- channels -------------------------------------------------------------------
    channels: list[str] = Field(
        default=["SHOPIFY", "AMAZON", "EBAY", "TIKTOK"],
        description="Channels (CHANNEL_CD) that get an atp.channel.<channel> topic, as JSON.",
    )
    channel_fulfilment: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description='Where each channel may fulfil from: "online" (default: DCs and ship-from stores), "stores", '
        '"all", or a list of LOC_CDs, as JSON.',
    )
    channel_buffers: dict[str, int | str] = Field(
        default_factory=dict,
        description='Units each channel keeps back: a number of units or a share such as "10%", as JSON.',
    )

    # -- the promotions gate (atp.promotable.<channel>) ---------------------------------
    promotable_min_available: int = Field(
        default=10,
        ge=1,
        description="The channel figure (stock on hand) a channel SKU needs to be promotable "
        "(atp.promotable.<channel>).",
    )
    promotable_stable_s: float = Field(
        default=600.0,
        ge=0,
        description="How long (s) the channel figure must hold at or above that minimum before the SKU is promotable; "
        "it stops being promotable at once when the figure falls below.",
    )
    channel_promotable_min: dict[str, int] = Field(
        default_factory=dict,
        description='Per-channel ATP_PROMOTABLE_MIN_AVAILABLE, as JSON, e.g. {"AMAZON": 25}.',
    )

    webhooks: dict[str, WebhookEndpoint] = Field(
        default_factory=dict,
        description="Partner endpoints per channel, as JSON: "
        '{"SHOPIFY": {"url": "https://...", "shape": "shopify", "auth_header": "X-Shopify-Access-Token", '
        '"secret_file": "/run/secrets/shopify", "rate_per_s": 2}}.',
    )

    @field_validator("channel_fulfilment")
    @classmethod
    def _known_fulfilment(cls, policies: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for channel, where in policies.items():
            if isinstance(where, str) and where not in ("online", "stores", "all"):
                raise ValueError(f"{channel}: {where!r} is not online, stores, all or a list of locations")
        return policies

    @field_validator("channel_buffers")
    @classmethod
    def _valid_buffers(cls, buffers: dict[str, int | str]) -> dict[str, int | str]:
        for channel, buffer in buffers.items():
            if isinstance(buffer, int):
                if buffer < 0:
                    raise ValueError(f"{channel}: a buffer cannot be negative")
            elif not re.fullmatch(r"\d{1,2}(\.\d+)?%", buffer):
                raise ValueError(f"{channel}: {buffer!r} is neither units nor a share like '10%'")
        return buffers

    @field_validator("channel_promotable_min")
    @classmethod
    def _positive_minimums(cls, minimums: dict[str, int]) -> dict[str, int]:
        for channel, minimum in minimums.items():
            if minimum < 1:
                raise ValueError(f"{channel}: a promotable minimum must be at least 1 (0 would promote what is out)")
        return minimums

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, zone: str) -> str:
        _check_zone(zone)
        return zone

    @field_validator("location_timezones")
    @classmethod
    def _known_zones(cls, zones: dict[str, str]) -> dict[str, str]:
        for zone in zones.values():
            _check_zone(zone)
        return zones

    def _local_kafka_port(self) -> int:
        """The local broker's listener for the configured protocol (SSL alone has none: it is refused in checks)."""
        return {"PLAINTEXT": self.kafka_port, "SASL_PLAINTEXT": self.kafka_sasl_port}.get(
            self.kafka_security_protocol, self.kafka_ssl_port
        )

    def _local_secret(self, given: SecretStr, name: str) -> Path | None:
        """For the local broker and no password given: the file the stack generates it into."""
        if self.kafka_bootstrap or given.get_secret_value():
            return None
        return self.home / "secrets" / name

    def _local_ca_file(self) -> Path | None:
        if self.kafka_bootstrap or not self.kafka_security_protocol.endswith("SSL"):
            return None
        return self.home / "secrets" / "tls" / "ca.pem"

    def parts(self) -> Settings:
        """The settings, by concern (derived values such as folders and URLs resolved here, once)."""
        return Settings(
            kafka=KafkaSettings(
                bootstrap_servers=self.kafka_bootstrap or f"127.0.0.1:{self._local_kafka_port()}",
                security_protocol=self.kafka_security_protocol,
                sasl_mechanism=self.kafka_sasl_mechanism,
                sasl_username=self.kafka_sasl_username,
                sasl_password=self.kafka_sasl_password,
                sasl_password_file=self._local_secret(self.kafka_sasl_password, "kafka.password"),
                ssl_ca_file=self.kafka_ssl_ca_file or self._local_ca_file(),
                registry_url=self.registry_url or f"http://127.0.0.1:{self.registry_port}/apis/ccompat/v7",
                registry_basic_auth=self.registry_basic_auth,
                input_partitions=self.input_partitions,
            ),
            engine=EngineSettings(
                low_stock_threshold=self.low_stock_threshold,
                fulfil_grace_s=self.fulfil_grace_s,
                dc_safety_stock=self.dc_safety_stock,
                store_safety_stock=self.store_safety_stock,
                dynamic_safety_factor=self.dynamic_safety_factor,
                sales_window_days=self.sales_window_days,
                unresolved_wait_s=self.unresolved_wait_s,
                max_hold_s=self.max_hold_s,
                timezone=self.timezone,
                location_timezones=self.location_timezones,
                tx_wait_s=self.tx_wait_s,
                tx_max_changes=self.tx_max_changes,
            ),
            channels=ChannelSettings(
                channels=tuple(self.channels),
                fulfilment=self.channel_fulfilment,
                buffers=self.channel_buffers,
                promotable_min_available=self.promotable_min_available,
                promotable_stable_s=self.promotable_stable_s,
                promotable_min=self.channel_promotable_min,
            ),
            webhooks=WebhookSettings(endpoints=self.webhooks),
            store=StoreSettings(
                clickhouse_url=self.clickhouse_url,
                chdb_path=self.home / "chdb",
                store_port=self.store_port,
                token_file=self.home / "secrets" / "store.token",
            ),
            api=ApiSettings(port=self.api_port, token_file=self.home / "secrets" / "api.token"),
            dataflow=DataflowSettings(
                recovery_dir=self.home / "recovery",
                recovery_partitions=self.recovery_partitions,
                snapshot_interval_s=self.snapshot_interval_s,
                flow_metrics_port=self.flow_metrics_port,
                processes=self.processes,
                cluster_port=self.cluster_port,
            ),
            stack=LocalStackSettings(
                home=self.home,
                lib_dir=self.lib_dir,
                kafka_port=self.kafka_port,
                kafka_controller_port=self.kafka_controller_port,
                kafka_sasl_port=self.kafka_sasl_port,
                kafka_ssl_port=self.kafka_ssl_port,
                kafka_plaintext_listener=self.kafka_security_protocol == "PLAINTEXT",
                connect_port=self.connect_port,
                registry_port=self.registry_port,
                registry_management_port=self.registry_management_port,
                postgres_port=self.postgres_port,
                mariadb_port=self.mariadb_port,
                pipeline_metrics_port=self.pipeline_metrics_port,
                erp_admin_password=self.erp_admin_password,
                erp_cdc_password=self.erp_cdc_password,
                pos_admin_password=self.pos_admin_password,
                pos_cdc_password=self.pos_cdc_password,
                start_timeout_s=self.start_timeout_s,
            ),
        )


def _check_zone(zone: str) -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {zone!r}") from exc


# ATP_* variables that are not settings of the pipeline: knobs of the test suite's long profiles and of the bench.
TOOL_VARIABLES = frozenset(
    {
        "ATP_SECRETS_DIR",
        "ATP_CHAOS_ROUNDS",
        "ATP_FUZZ_EXAMPLES",
        "ATP_FLOW_FUZZ_INPUTS",
        "ATP_TX_EXAMPLES",
        "ATP_BENCH_HOME",
        "ATP_BENCH_CODE",
    }
)


def _unknown_variables() -> list[str]:
    """ATP_* variables in the environment that nothing reads: a misspelling would otherwise pass unnoticed."""
    known = {f"ATP_{name.upper()}" for name in EnvironmentSettings.model_fields} | TOOL_VARIABLES
    return sorted(name for name in os.environ if name.startswith("ATP_") and name not in known)


def _invalid(exc: ValidationError) -> ConfigError:
    """The first problem of a validation, in one line naming the variable."""
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "?"
    inside = "".join(f"[{part}]" for part in first["loc"][1:])  # e.g. ATP_WEBHOOKS[SHOPIFY][url]
    return ConfigError(f"ATP_{field.upper()}{inside}: {first['msg']}")


def load_settings() -> Settings:
    """Read the environment once; a bad value becomes a one-line ConfigError.

    Secrets may also come from files: with ``ATP_SECRETS_DIR`` set, a file there named like the
    variable (``atp_erp_cdc_password``) holds its value (Docker/Kubernetes secrets style).
    """
    unknown = _unknown_variables()
    if unknown:
        raise ConfigError(f"{unknown[0]}: not a setting of atp-stream (see the README's settings table)")
    secrets_dir = os.environ.get("ATP_SECRETS_DIR") or None
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise ConfigError(f"ATP_SECRETS_DIR: {secrets_dir} is not a directory")
    try:
        environment = EnvironmentSettings(_secrets_dir=secrets_dir)  # type: ignore[call-arg]
    except SettingsError as exc:  # a value that is not even JSON (e.g. ATP_LOCATION_TIMEZONES='{bad')
        field = str(exc).split('"')[1] if '"' in str(exc) else "?"
        raise ConfigError(f"ATP_{field.upper()}: not valid JSON") from exc
    except ValidationError as exc:
        raise _invalid(exc) from exc
    settings = environment.parts()
    check_together(settings)
    return settings


class _GivenFields(EnvironmentSettings):
    """The environment reader without the environment: only the values given, the rest defaults."""

    model_config = SettingsConfigDict(extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def settings_from_fields(**fields: Any) -> Settings:
    """Settings from values given by their flat field names (``kafka_port=...``, ``tx_wait_s=...``), the rest
    defaults: the environment is not read. The same validation and checks as :func:`load_settings`."""
    try:
        environment = _GivenFields(**fields)
    except ValidationError as exc:
        raise _invalid(exc) from exc
    settings = environment.parts()
    check_together(settings)
    return settings
