"""What an operator chooses when rendering the cluster's manifests (the CLI's arguments)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from connectors.topics import PARTITIONS


class DeployParameters(BaseModel):
    """One cluster's choices; every other figure comes from the project's own code and files."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: str = Field(default="atp", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    image: str = Field(default="atp-stream:0.1.0", min_length=1, description="the project's own image")
    connect_image: str = Field(
        default="atp-connect:3.5.0", min_length=1, description="where Strimzi pushes the Connect image it builds"
    )
    processes: int = Field(default=2, ge=1, le=256, description="Bytewax processes (StatefulSet replicas)")
    partitions: int = Field(default=PARTITIONS, ge=1, le=1024, description="partitions of the keyed topics")
    kafka_replicas: int = Field(default=3, ge=1, le=15)
    kafka_storage: str = Field(default="100Gi", pattern=r"^[0-9]+(Mi|Gi|Ti)$")
    recovery_storage: str = Field(default="20Gi", pattern=r"^[0-9]+(Mi|Gi|Ti)$")
    clickhouse_shards: int = Field(default=2, ge=1, le=64)
    clickhouse_replicas: int = Field(default=2, ge=1, le=5)
    clickhouse_storage: str = Field(default="200Gi", pattern=r"^[0-9]+(Mi|Gi|Ti)$")
    erp_host: str = Field(default="erp-mariadb.erp.svc", min_length=1, description="the ERP's MariaDB")
    erp_port: int = Field(default=3306, ge=1, le=65535)
    pos_host: str = Field(default="pos-postgres.pos.svc", min_length=1, description="the POS's PostgreSQL")
    pos_port: int = Field(default=5432, ge=1, le=65535)

    @model_validator(mode="after")
    def _every_process_reads_a_partition(self) -> DeployParameters:
        # Bytewax spreads a topic's partitions over the workers: a process beyond the partition count idles.
        if self.processes > self.partitions:
            raise ValueError(f"{self.processes} processes but {self.partitions} partitions: a process would idle")
        if self.kafka_replicas < 3 and self.kafka_replicas != 1:
            raise ValueError("kafka_replicas: 1 (a test cluster) or at least 3 (a quorum that survives a loss)")
        return self

    @property
    def replication_factor(self) -> int:
        return min(3, self.kafka_replicas)

    @property
    def bootstrap_servers(self) -> str:
        return f"{KAFKA_CLUSTER}-kafka-bootstrap.{self.namespace}.svc:9092"


KAFKA_CLUSTER = "atp"
