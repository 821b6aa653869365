"""The settings of atp-stream, one frozen part per concern.

Each adapter takes only its part: the Kafka clients :class:`KafkaSettings`, the engine's rules
:class:`EngineSettings` and :class:`ChannelSettings`, the partner pushes :class:`WebhookSettings`,
the ClickHouse store :class:`StoreSettings`, the dataflow's recovery :class:`DataflowSettings`, and
the services ``atp up`` runs on this machine :class:`LocalStackSettings`. :class:`Settings` holds
them all, for the commands and the supervisor.

The parts are values: defaults, validation and messages live in the environment reader
(:mod:`atp.settings.environment`), which is the one place that builds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

KafkaSecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
KafkaSaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookEndpoint(_Part):
    """One partner endpoint for a channel's availability (an entry of ``ATP_WEBHOOKS``)."""

    url: str = Field(pattern=r"^https?://", description="The partner's inventory-update endpoint.")
    shape: Literal["shopify", "amazon", "ebay", "magento", "json"] = "json"
    auth_header: str = Field(default="", description="Header that carries the credential, e.g. Authorization.")
    secret_file: Path | None = Field(default=None, description="File holding the credential (never in env or logs).")
    rate_per_s: float = Field(default=5.0, gt=0)
    burst: int = Field(default=5, ge=1)
    batch_size: int = Field(default=100, ge=1)
    timeout_s: float = Field(default=5.0, gt=0)
    max_attempts: int = Field(default=5, ge=1)
    backoff_base_s: float = Field(default=0.5, gt=0)
    backoff_max_s: float = Field(default=30.0, gt=0)
    options: dict[str, str] = Field(default_factory=dict, description="location_id, seller_id, source_code, ...")


class KafkaSettings(_Part):
    """The cluster every producer, consumer and admin client of atp (and the dataflow) uses, and its registry."""

    bootstrap_servers: str
    security_protocol: KafkaSecurityProtocol
    sasl_mechanism: KafkaSaslMechanism
    sasl_username: str
    sasl_password: SecretStr
    sasl_password_file: Path | None  # the local broker's generated password, when no password is given
    ssl_ca_file: Path | None
    registry_url: str  # the Confluent-compatible API of the schema registry
    registry_basic_auth: SecretStr
    input_partitions: int  # of the input (and output) topics: the dataflow's parallelism (ATP_INPUT_PARTITIONS)


class EngineSettings(_Part):
    """How the engine computes availability: thresholds, safety stock, time zones, transactions."""

    low_stock_threshold: int
    fulfil_grace_s: int
    dc_safety_stock: int
    store_safety_stock: int
    dynamic_safety_factor: float
    sales_window_days: int
    unresolved_wait_s: int
    max_hold_s: int
    timezone: str
    location_timezones: dict[str, str]
    tx_wait_s: int
    tx_max_changes: int


class ChannelSettings(_Part):
    """The sales channels that get a topic, where each may fulfil from and what each keeps back; and when a
    channel SKU may be promoted (``atp.promotable.<channel>``)."""

    channels: tuple[str, ...]
    fulfilment: dict[str, str | list[str]]
    buffers: dict[str, int | str]
    promotable_min_available: int
    promotable_stable_s: float
    promotable_min: dict[str, int]  # per channel, overriding promotable_min_available


class WebhookSettings(_Part):
    """The partner endpoints that channels' availability is pushed to, by channel."""

    endpoints: dict[str, WebhookEndpoint]


class StoreSettings(_Part):
    """Where the ClickHouse store is: a server, or the embedded chdb store served by the loader's process."""

    clickhouse_url: str | None
    chdb_path: Path
    store_port: int
    token_file: Path  # the bearer token the store endpoint asks of /command (ATP_HOME/secrets/store.token)

    @property
    def store_url(self) -> str:
        return f"http://127.0.0.1:{self.store_port}"


class ApiSettings(_Part):
    """The ATP lookup API the supervisor serves on 127.0.0.1 from its read model of the output topics."""

    port: int
    token_file: Path  # the bearer token every path but /health asks for (ATP_HOME/secrets/api.token)


class DataflowSettings(_Part):
    """The Bytewax dataflow's recovery store, epoch, metrics, and its cluster of processes on this machine."""

    recovery_dir: Path
    recovery_partitions: int
    snapshot_interval_s: float
    flow_metrics_port: int
    processes: int
    cluster_port: int

    def metrics_port(self, process: int) -> int:
        """Where process ``process`` of the cluster serves its metrics (0: not served)."""
        return self.flow_metrics_port + process if self.flow_metrics_port else 0

    def cluster_addresses(self) -> list[str]:
        """``host:port`` of every process of the cluster, in process order (Bytewax's ``-a``)."""
        return [f"127.0.0.1:{self.cluster_port + process}" for process in range(self.processes)]


class LocalStackSettings(_Part):
    """The services ``atp up`` runs on this machine (all on 127.0.0.1): folders, ports, demo passwords."""

    home: Path
    lib_dir: Path
    kafka_port: int
    kafka_controller_port: int
    kafka_sasl_port: int
    kafka_ssl_port: int
    kafka_plaintext_listener: bool  # an unauthenticated listener, opened only when the clients are set to PLAINTEXT
    connect_port: int
    registry_port: int
    registry_management_port: int
    postgres_port: int
    mariadb_port: int
    pipeline_metrics_port: int
    erp_admin_password: SecretStr
    erp_cdc_password: SecretStr
    pos_admin_password: SecretStr
    pos_cdc_password: SecretStr
    start_timeout_s: float

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def tls_dir(self) -> Path:
        """The local CA and the broker's certificate (infra/tls.py)."""
        return self.home / "secrets" / "tls"

    @property
    def run_dir(self) -> Path:
        """pid files of the processes atp starts."""
        return self.home / "run"

    @property
    def connect_url(self) -> str:
        return f"http://127.0.0.1:{self.connect_port}"


class Settings(_Part):
    """Every part; the commands and the supervisor hold it and hand each adapter its part."""

    kafka: KafkaSettings
    engine: EngineSettings
    channels: ChannelSettings
    webhooks: WebhookSettings
    store: StoreSettings
    api: ApiSettings
    dataflow: DataflowSettings
    stack: LocalStackSettings
