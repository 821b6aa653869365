"""Kafka (Strimzi, KRaft), its topics, Kafka Connect with the Debezium plugins, and the two connectors.

The topics' partitions and retention come from ``connectors.topics``, the connectors' settings from
``connectors.cdc_connectors`` and the plugin versions from ``infra/pom.xml``: what runs locally and what
runs in the cluster cannot drift apart.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from atp.settings import ChannelSettings
from connectors import cdc_connectors, topics
from connectors.cdc.decode import TRANSACTION_TOPICS
from infra import registry
from infra.deploy.parameters import KAFKA_CLUSTER, DeployParameters
from infra.java import INFRA_DIR

Manifest = dict[str, Any]
STRIMZI_API = "kafka.strimzi.io/v1beta2"
CONNECT_CLUSTER = "atp-connect"
# The Secret the operator creates before applying (keys erp_cdc_password, pos_cdc_password); never rendered.
CDC_SECRET = "atp-cdc-credentials"
SCHEMA_HISTORY_TOPIC = "atp.schema-history.erp"
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def pom_version(name: str) -> str:
    """A version property of ``infra/pom.xml`` (``debezium.version``, ``kafka.version``)."""
    found = ET.parse(INFRA_DIR / "pom.xml").getroot().find(f"m:properties/m:{name}", _POM_NS)
    if found is None or not found.text:
        raise ValueError(f"infra/pom.xml has no property {name}")
    return found.text.strip()


def _metadata(name: str, params: DeployParameters, **labels: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": params.namespace}
    if labels:
        meta["labels"] = labels
    return meta


def kafka_cluster(params: DeployParameters) -> list[Manifest]:
    """One KRaft node pool whose nodes are both controllers and brokers, and the Kafka resource."""
    pool: Manifest = {
        "apiVersion": STRIMZI_API,
        "kind": "KafkaNodePool",
        "metadata": _metadata("dual-role", params, **{"strimzi.io/cluster": KAFKA_CLUSTER}),
        "spec": {
            "replicas": params.kafka_replicas,
            "roles": ["controller", "broker"],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {"id": 0, "type": "persistent-claim", "size": params.kafka_storage,
                     "deleteClaim": False, "kRaftMetadataStore": True},
                ],
            },
        },
    }  # fmt: skip
    rf = params.replication_factor
    kafka: Manifest = {
        "apiVersion": STRIMZI_API,
        "kind": "Kafka",
        "metadata": {
            **_metadata(KAFKA_CLUSTER, params),
            "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"},
        },
        "spec": {
            "kafka": {
                "version": pom_version("kafka.version"),
                "listeners": [{"name": "plain", "port": 9092, "type": "internal", "tls": False}],
                "config": {
                    "default.replication.factor": rf,
                    "min.insync.replicas": max(1, rf - 1),
                    "offsets.topic.replication.factor": rf,
                    "transaction.state.log.replication.factor": rf,
                    "transaction.state.log.min.isr": max(1, rf - 1),
                    # Topics are created up front (connectors.topics explains why), never by a first write.
                    "auto.create.topics.enable": False,
                },
            },
            "entityOperator": {"topicOperator": {}},
        },
    }
    return [pool, kafka]


def resource_name(topic: str) -> str:
    """A Kubernetes name for ``topic`` (lower case, no underscores); ``spec.topicName`` keeps the real one."""
    return re.sub(r"[^a-z0-9.-]", "-", topic.lower())


def kafka_topics(params: DeployParameters, channels: ChannelSettings) -> list[Manifest]:
    """Every topic the pipeline, the connectors and the registry use, with their local partitions and retention."""
    wanted: dict[str, tuple[int, dict[str, str]]] = {}
    for topic in (*topics.INPUT_TOPICS, *topics.output_topics(channels)):
        count = topics.TRANSACTION_PARTITIONS if topic in TRANSACTION_TOPICS else params.partitions
        wanted[topic] = (count, topics.topic_config(topic))
    # One total order each, kept forever: Debezium's schema history and the registry's journal.
    for topic in (SCHEMA_HISTORY_TOPIC, registry.JOURNAL_TOPIC, registry.SNAPSHOTS_TOPIC):
        wanted[topic] = (1, registry.journal_topic_config())
    return [
        {
            "apiVersion": STRIMZI_API,
            "kind": "KafkaTopic",
            "metadata": _metadata(resource_name(topic), params, **{"strimzi.io/cluster": KAFKA_CLUSTER}),
            "spec": {
                "topicName": topic,
                "partitions": count,
                "replicas": params.replication_factor,
                "config": dict(sorted(config.items())),
            },
        }
        for topic, (count, config) in wanted.items()
    ]


def kafka_connect(params: DeployParameters) -> list[Manifest]:
    """The Connect cluster, built with both Debezium plugins, and its right to read the CDC Secret only."""
    debezium = pom_version("debezium.version")
    rf = params.replication_factor
    connect: Manifest = {
        "apiVersion": STRIMZI_API,
        "kind": "KafkaConnect",
        "metadata": {
            **_metadata(CONNECT_CLUSTER, params),
            "annotations": {"strimzi.io/use-connector-resources": "true"},
        },
        "spec": {
            "version": pom_version("kafka.version"),
            "replicas": 1,
            "bootstrapServers": f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
            "config": {
                "group.id": CONNECT_CLUSTER,
                "offset.storage.topic": "atp.connect-offsets",
                "config.storage.topic": "atp.connect-configs",
                "status.storage.topic": "atp.connect-status",
                "offset.storage.replication.factor": rf,
                "config.storage.replication.factor": rf,
                "status.storage.replication.factor": rf,
                # Passwords are read from the Secret when a task starts: ${secrets:<namespace>/<secret>:<key>}.
                "config.providers": "secrets",
                "config.providers.secrets.class": "io.strimzi.kafka.KubernetesSecretConfigProvider",
            },
            "build": {
                "output": {"type": "docker", "image": params.connect_image},
                "plugins": [
                    {"name": f"debezium-{db}", "artifacts": [
                        {"type": "maven", "group": "io.debezium", "artifact": f"debezium-connector-{db}",
                         "version": debezium},
                    ]}
                    for db in ("postgres", "mariadb")
                ],
            },
        },
    }  # fmt: skip
    role: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata("atp-connect-cdc-secret", params),
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [CDC_SECRET], "verbs": ["get"]}],
    }
    binding: Manifest = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata("atp-connect-cdc-secret", params),
        "subjects": [{"kind": "ServiceAccount", "name": f"{CONNECT_CLUSTER}-connect", "namespace": params.namespace}],
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "atp-connect-cdc-secret"},
    }
    return [connect, role, binding]


def connector_configs(params: DeployParameters) -> dict[str, dict[str, str]]:
    """The two connectors' configs: the local ones (``connectors.cdc_connectors``) at the cluster's addresses."""

    def password(key: str) -> str:
        return "${secrets:" + f"{params.namespace}/{CDC_SECRET}:{key}" + "}"

    cluster = {
        "topic.creation.default.partitions": str(params.partitions),
        "topic.creation.default.replication.factor": str(params.replication_factor),
    }
    erp = cdc_connectors.erp_connector(
        params.erp_host,
        params.erp_port,
        password("erp_cdc_password"),
        f"{KAFKA_CLUSTER}-kafka-bootstrap:9092",
        partitions=params.partitions,
    )
    pos = cdc_connectors.pos_connector(
        params.pos_host, params.pos_port, password("pos_cdc_password"), partitions=params.partitions
    )
    return {cdc_connectors.ERP_CONNECTOR: {**erp, **cluster}, cdc_connectors.POS_CONNECTOR: {**pos, **cluster}}


def kafka_connectors(params: DeployParameters) -> list[Manifest]:
    manifests = []
    for name, config in connector_configs(params).items():
        rest = {k: v for k, v in config.items() if k not in ("connector.class", "tasks.max")}
        manifests.append(
            {
                "apiVersion": STRIMZI_API,
                "kind": "KafkaConnector",
                "metadata": _metadata(name, params, **{"strimzi.io/cluster": CONNECT_CLUSTER}),
                "spec": {"class": config["connector.class"], "tasksMax": int(config["tasks.max"]), "config": rest},
            }
        )
    return manifests
