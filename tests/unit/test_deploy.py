"""The cluster's manifests (infra/deploy): rendered, parsed, validated, and built from the local stack's own
settings so the two cannot drift.

Core Kubernetes kinds are validated against Kubernetes' JSON schemas (kubernetes-validate, strict: no unknown
fields). The operators' CRD schemas are not published to a registry the project reaches, so Strimzi's and
Altinity's resources get the structural checks below (infra/deploy/README.md says which).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from atp.settings import settings_from_fields
from connectors import cdc_connectors, topics
from connectors.cdc.decode import CDC_TOPICS, TRANSACTION_TOPICS
from infra import registry
from infra.deploy import clickhouse_ddl, kafka, render
from infra.deploy.apps import quarkus_env
from infra.deploy.parameters import DeployParameters

KUBERNETES_VERSION = "1.33"
CORE_KINDS = {"Namespace", "ConfigMap", "Service", "Deployment", "StatefulSet", "Job", "Role", "RoleBinding"}
# For each CRD kind: its apiVersion and the paths (dotted) that must hold a value of the given type.
CRD_SHAPES: dict[str, tuple[str, dict[str, type | tuple[type, ...]]]] = {
    "Kafka": ("kafka.strimzi.io/v1beta2", {"spec.kafka.version": str, "spec.kafka.listeners": list,
                                            "spec.kafka.config": dict, "spec.entityOperator.topicOperator": dict}),
    "KafkaNodePool": ("kafka.strimzi.io/v1beta2", {"spec.replicas": int, "spec.roles": list, "spec.storage.type": str,
                                                    "spec.storage.volumes": list}),
    "KafkaTopic": ("kafka.strimzi.io/v1beta2", {"spec.topicName": str, "spec.partitions": int, "spec.replicas": int,
                                                 "spec.config": dict}),
    "KafkaConnect": ("kafka.strimzi.io/v1beta2", {"spec.bootstrapServers": str, "spec.replicas": int,
                                                   "spec.config": dict, "spec.build.output.image": str,
                                                   "spec.build.plugins": list}),
    "KafkaConnector": ("kafka.strimzi.io/v1beta2", {"spec.class": str, "spec.tasksMax": int, "spec.config": dict}),
    "ClickHouseInstallation": ("clickhouse.altinity.com/v1", {"spec.configuration.clusters": list,
                                                             "spec.configuration.zookeeper.nodes": list,
                                                             "spec.configuration.users": dict}),
    "ClickHouseKeeperInstallation": ("clickhouse-keeper.altinity.com/v1", {"spec.configuration.clusters": list}),
}  # fmt: skip
CLUSTER_LABELLED = {"KafkaNodePool", "KafkaTopic", "KafkaConnector"}  # Strimzi finds their cluster by label


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    out = tmp_path_factory.mktemp("deploy")
    render.main(["--out", str(out), "--processes", "3", "--partitions", "6", "--namespace", "retail"])
    documents = []
    for path in sorted(out.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return documents


def _of(documents: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in documents if d["kind"] == kind]


def _at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value[part]
    return value


def test_every_rendered_file_parses_and_every_manifest_is_a_core_kind_or_a_known_custom_resource(rendered):
    assert len(rendered) > 20
    assert {d["kind"] for d in rendered} <= CORE_KINDS | set(CRD_SHAPES)
    for document in rendered:
        assert document["metadata"]["name"]
        if document["kind"] != "Namespace":
            assert document["metadata"]["namespace"] == "retail"


def test_core_kinds_validate_against_the_kubernetes_json_schemas(rendered):
    core = [d for d in rendered if d["kind"] in CORE_KINDS]
    assert {d["kind"] for d in core} == CORE_KINDS
    for document in core:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_schema_validation_refuses_a_field_kubernetes_does_not_know(rendered):
    statefulset = dict(_of(rendered, "StatefulSet")[0])
    statefulset["spec"] = {**statefulset["spec"], "replica": 3}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(statefulset, KUBERNETES_VERSION, strict=True)


def test_custom_resources_have_their_api_version_and_the_fields_their_operator_needs(rendered):
    for document in rendered:
        if document["kind"] not in CRD_SHAPES:
            continue
        api_version, fields = CRD_SHAPES[document["kind"]]
        assert document["apiVersion"] == api_version, document["kind"]
        for path, expected in fields.items():
            assert isinstance(_at(document, path), expected), (document["kind"], path)
        if document["kind"] in CLUSTER_LABELLED:
            assert document["metadata"]["labels"]["strimzi.io/cluster"]
        # Kubernetes names: lower-case DNS subdomains, at most 253 characters
        name = document["metadata"]["name"]
        assert len(name) <= 253 and name == name.lower() and "_" not in name, name


def test_topics_keep_the_local_partitions_and_retention(rendered):
    by_topic = {t["spec"]["topicName"]: t["spec"] for t in _of(rendered, "KafkaTopic")}
    channels = settings_from_fields().channels
    assert set(topics.INPUT_TOPICS) | set(topics.output_topics(channels)) <= set(by_topic)
    for topic in CDC_TOPICS:
        assert by_topic[topic]["config"]["retention.ms"] == "-1" and by_topic[topic]["partitions"] == 6
    for topic in TRANSACTION_TOPICS:
        assert by_topic[topic]["config"]["retention.ms"] == "-1" and by_topic[topic]["partitions"] == 1
    assert by_topic[topics.RESERVATIONS]["config"]["retention.ms"] == str(30 * 24 * 3600 * 1000)
    assert by_topic[topics.AVAILABILITY]["config"] == {}
    for topic in (registry.JOURNAL_TOPIC, registry.SNAPSHOTS_TOPIC, kafka.SCHEMA_HISTORY_TOPIC):
        forever = {"cleanup.policy": "delete", "retention.bytes": "-1", "retention.ms": "-1"}
        assert by_topic[topic] == {"topicName": topic, "partitions": 1, "replicas": 3, "config": forever}


def test_the_connectors_are_the_local_ones_with_only_addresses_passwords_and_topic_sizes_changed(rendered):
    stack, kafka_settings = settings_from_fields().stack, settings_from_fields().kafka
    local = {cdc_connectors.ERP_CONNECTOR: cdc_connectors.erp_config(stack, kafka_settings),
             cdc_connectors.POS_CONNECTOR: cdc_connectors.pos_config(stack, kafka_settings)}  # fmt: skip
    # The local schema history's client security (SASL_SSL to the local broker) is the local stack's; the
    # cluster's Connect reaches Strimzi's internal listener with the worker's own settings.
    local_security = ("schema.history.internal.producer.", "schema.history.internal.consumer.")
    local = {name: {k: v for k, v in c.items() if not k.startswith(local_security)} for name, c in local.items()}
    cluster_only = {
        "database.hostname",
        "database.port",
        "database.password",
        "topic.creation.default.partitions",
        "topic.creation.default.replication.factor",
        "schema.history.internal.kafka.bootstrap.servers",
    }
    connectors = {c["metadata"]["name"]: c["spec"] for c in _of(rendered, "KafkaConnector")}
    assert set(connectors) == set(local)
    for name, spec in connectors.items():
        config = {**spec["config"], "connector.class": spec["class"], "tasks.max": str(spec["tasksMax"])}
        assert set(config) == set(local[name])
        assert {k: v for k, v in config.items() if k not in cluster_only} == {
            k: v for k, v in local[name].items() if k not in cluster_only
        }
        assert config["database.password"].startswith("${secrets:retail/atp-cdc-credentials:")


def test_connect_builds_both_debezium_plugins_at_the_versions_of_the_pom(rendered):
    (connect,) = _of(rendered, "KafkaConnect")
    artifacts = [a for plugin in connect["spec"]["build"]["plugins"] for a in plugin["artifacts"]]
    assert {(a["artifact"], a["version"]) for a in artifacts} == {
        ("debezium-connector-postgres", kafka.pom_version("debezium.version")),
        ("debezium-connector-mariadb", kafka.pom_version("debezium.version")),
    }
    provider = connect["spec"]["config"]["config.providers.secrets.class"]
    assert provider == "io.strimzi.kafka.KubernetesSecretConfigProvider"


def test_no_password_is_written_into_any_manifest(rendered):
    text = yaml.safe_dump_all(rendered)
    local = settings_from_fields()
    given = settings_from_fields(kafka_sasl_password=SecretStr("kafka-secret-value")).kafka.sasl_password
    for secret in (local.stack.erp_cdc_password, local.stack.pos_cdc_password, given):
        assert secret.get_secret_value() not in text
    assert not _of(rendered, "Secret")


def test_the_dataflow_is_one_process_per_pod_addressed_through_the_headless_service(rendered):
    (statefulset,) = _of(rendered, "StatefulSet")
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert statefulset["spec"]["replicas"] == 3
    assert env["BYTEWAX_PROCESS_ID"]["valueFrom"]["fieldRef"]["fieldPath"].endswith("['apps.kubernetes.io/pod-index']")
    assert env["BYTEWAX_ADDRESSES"]["value"].split(";") == [
        f"atp-dataflow-{k}.atp-dataflow.retail.svc:2101" for k in range(3)
    ]
    assert container["command"][:3] == ["python", "-m", "flows.run"]
    assert container["command"][-4:] == ["-i", "$(BYTEWAX_PROCESS_ID)", "-a", "$(BYTEWAX_ADDRESSES)"]
    (headless,) = [s for s in _of(rendered, "Service") if s["metadata"]["name"] == statefulset["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True
    assert statefulset["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "recovery"


def test_the_recovery_partitions_are_dealt_round_robin_over_the_processes(tmp_path: Path):
    from infra.deploy.apps import recovery_script

    params, dataflow = DeployParameters(processes=3, partitions=6), settings_from_fields().dataflow
    script = recovery_script(params, dataflow).replace("/var/lib/atp", str(tmp_path / "HOME"))
    script = script.replace("python -m", f"{sys.executable} -m").replace("/tmp/partitions", "$SCRATCH")
    held = []
    for process in range(3):
        scratch = str(tmp_path / f"scratch{process}")
        env = {"BYTEWAX_PROCESS_ID": str(process), "SCRATCH": scratch, "PATH": "/usr/bin:/bin"}
        (tmp_path / "HOME").mkdir(exist_ok=True)
        subprocess.run(["sh", "-c", script], env=env, check=True)
        held.append(sorted(p.name for p in (tmp_path / "HOME" / "recovery").iterdir()))
        (tmp_path / "HOME" / "recovery.format").unlink()
        for part in (tmp_path / "HOME" / "recovery").iterdir():
            part.unlink()
    assert held[0] == ["part-0.sqlite3", "part-3.sqlite3", "part-6.sqlite3"]
    assert held[2] == ["part-2.sqlite3", "part-5.sqlite3"]


def test_the_registry_runs_with_the_local_registrys_storage_properties(rendered):
    (deployment,) = [d for d in _of(rendered, "Deployment") if d["metadata"]["name"] == "atp-registry"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    expected = registry.storage_properties("atp-kafka-bootstrap.retail.svc:9092", "/var/lib/apicurio/snapshots")
    assert env == quarkus_env(expected)
    assert {"name": "APICURIO_CCOMPAT_LEGACY_ID_MODE_ENABLED", "value": "true"} in env


def test_prometheus_scrapes_each_dataflow_process_on_its_own_port_and_keeps_the_local_alerts(rendered):
    (config,) = [c for c in _of(rendered, "ConfigMap") if c["metadata"]["name"] == "atp-prometheus"]
    scrape = yaml.safe_load(config["data"]["prometheus.yml"])
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in scrape["scrape_configs"]}
    assert jobs["atp-dataflow"] == [f"atp-dataflow-{k}.atp-dataflow.retail.svc:{18100 + k}" for k in range(3)]
    assert jobs["atp-pipeline"] == ["atp-outputs.retail.svc:18099"]
    alerts = {r["alert"] for g in yaml.safe_load(config["data"]["alerts.yml"])["groups"] for r in g["rules"]}
    assert "AtpLagGrowing" in alerts and "AtpDataflowDown" in alerts and "AtpConnectorNotRunning" not in alerts


def test_the_ddl_renderer_makes_a_replicated_local_table_and_a_distributed_one_of_the_same_name():
    assert clickhouse_ddl.cluster_ddl([
        "CREATE TABLE IF NOT EXISTS atp.stock\n(\n    sku String,\n    version UInt64\n)\n"
        "ENGINE = ReplacingMergeTree(version)\nORDER BY (sku, location)",
        "ALTER TABLE atp.stock ADD COLUMN IF NOT EXISTS buffer Int64 DEFAULT 0",
    ]) == [
        "CREATE TABLE IF NOT EXISTS atp.stock_local ON CLUSTER '{cluster}'\n(\n    sku String,\n    version UInt64\n)\n"
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/atp/stock_local', '{replica}', version)\n"
        "ORDER BY (sku, location)",
        "CREATE TABLE IF NOT EXISTS atp.stock ON CLUSTER '{cluster}' AS atp.stock_local\n"
        "ENGINE = Distributed('{cluster}', atp, stock_local, cityHash64(sku))",
        "ALTER TABLE atp.stock_local ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS buffer Int64 DEFAULT 0",
        "ALTER TABLE atp.stock ON CLUSTER '{cluster}' ADD COLUMN IF NOT EXISTS buffer Int64 DEFAULT 0",
    ]  # fmt: skip


def test_every_table_of_the_projects_ddl_is_replicated_and_distributed_and_nothing_is_left_out():
    from connectors.clickhouse_store import ddl_statements

    rendered = clickhouse_ddl.cluster_ddl()
    tables = [s.split()[5] for s in ddl_statements() if s.startswith("CREATE TABLE")]
    assert len(tables) >= 8
    for table in tables:
        (local,) = [s for s in rendered if s.startswith(f"CREATE TABLE IF NOT EXISTS {table}_local ")]
        assert "ENGINE = Replicated" in local and "{replica}" in local
        (distributed,) = [s for s in rendered if s.startswith(f"CREATE TABLE IF NOT EXISTS {table} ON CLUSTER")]
        assert "ENGINE = Distributed('{cluster}'" in distributed
    assert all("ON CLUSTER '{cluster}'" in s for s in rendered)
    assert not [s for s in rendered if "MergeTree" in s and "Replicated" not in s]


def test_a_statement_the_renderer_does_not_know_is_refused_not_passed_through():
    with pytest.raises(clickhouse_ddl.UnknownStatementError):
        clickhouse_ddl.cluster_ddl(["CREATE TABLE atp.x (a Int8) ENGINE = Log"])


def test_render_refuses_more_processes_than_partitions_in_one_line(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as exit_:
        render.main(["--out", str(tmp_path), "--processes", "9", "--partitions", "4"])
    assert exit_.value.code == 2
    assert "9 processes but 4 partitions" in capsys.readouterr().err
