"""ClickHouse through the Altinity operator: a Keeper ensemble, the sharded and replicated installation,
and a Job that applies the cluster form of the project's DDL (``infra.deploy.clickhouse_ddl``)."""

from __future__ import annotations

from typing import Any

from infra.deploy.clickhouse_ddl import cluster_sql
from infra.deploy.parameters import DeployParameters

Manifest = dict[str, Any]
CHI_API = "clickhouse.altinity.com/v1"
CHK_API = "clickhouse-keeper.altinity.com/v1"
INSTALLATION = "atp"
CLUSTER_NAME = "atp"
KEEPER = "atp-keeper"
# The Secret the operator creates before applying: key "password" (the ClickHouse user atp) and key "url"
# (http://atp:<password>@clickhouse-atp:8123, what ATP_CLICKHOUSE_URL is set to); never rendered.
CLICKHOUSE_SECRET = "atp-clickhouse"
CLICKHOUSE_SERVICE = f"clickhouse-{INSTALLATION}"  # the operator's Service in front of every node
CLIENT_IMAGE = "clickhouse/clickhouse-server:25.8"
DDL_CONFIGMAP = "atp-clickhouse-ddl"


def keeper(params: DeployParameters) -> Manifest:
    return {
        "apiVersion": CHK_API,
        "kind": "ClickHouseKeeperInstallation",
        "metadata": {"name": KEEPER, "namespace": params.namespace},
        "spec": {"configuration": {"clusters": [{"name": "keeper", "layout": {"replicasCount": 3}}]}},
    }


def installation(params: DeployParameters) -> Manifest:
    return {
        "apiVersion": CHI_API,
        "kind": "ClickHouseInstallation",
        "metadata": {"name": INSTALLATION, "namespace": params.namespace},
        "spec": {
            "configuration": {
                "zookeeper": {"nodes": [{"host": f"keeper-{KEEPER}", "port": 2181}]},
                "users": {
                    # The password is read from the Secret by the operator, never written here.
                    "atp/k8s_secret_password": f"{params.namespace}/{CLICKHOUSE_SECRET}/password",
                    "atp/networks/ip": ["::/0"],
                    "atp/profile": "default",
                },
                "clusters": [
                    {
                        "name": CLUSTER_NAME,
                        "layout": {
                            "shardsCount": params.clickhouse_shards,
                            "replicasCount": params.clickhouse_replicas,
                        },
                    }
                ],
            },
            "defaults": {"templates": {"dataVolumeClaimTemplate": "data"}},
            "templates": {
                "volumeClaimTemplates": [
                    {
                        "name": "data",
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": params.clickhouse_storage}},
                        },
                    }
                ]
            },
        },
    }


def client_env() -> list[dict[str, Any]]:
    """The ClickHouse user and password of a clickhouse-client container, from the Secret."""
    secret = {"secretKeyRef": {"name": CLICKHOUSE_SECRET, "key": "password"}}
    return [{"name": "CH_USER", "value": "atp"}, {"name": "CH_PASSWORD", "valueFrom": secret}]


def client_command(extra: str) -> list[str]:
    """clickhouse-client against the installation's Service ($(VAR): expanded by Kubernetes, not a shell)."""
    return ["clickhouse-client", "--host", CLICKHOUSE_SERVICE, "--user", "$(CH_USER)",
            "--password", "$(CH_PASSWORD)", *extra.split(" ")]  # fmt: skip


def ddl(params: DeployParameters) -> list[Manifest]:
    """The DDL as a ConfigMap and the Job that applies it (idempotent: every statement is IF NOT EXISTS)."""
    configmap: Manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": DDL_CONFIGMAP, "namespace": params.namespace},
        "data": {"cluster.sql": cluster_sql()},
    }
    job: Manifest = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "atp-clickhouse-ddl", "namespace": params.namespace},
        "spec": {
            "backoffLimit": 30,
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [
                        {
                            "name": "apply-ddl",
                            "image": CLIENT_IMAGE,
                            "command": client_command("--multiquery --queries-file /ddl/cluster.sql"),
                            "env": client_env(),
                            "volumeMounts": [{"name": "ddl", "mountPath": "/ddl", "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "ddl", "configMap": {"name": DDL_CONFIGMAP}}],
                }
            },
        },
    }
    return [configmap, job]


def wait_for_ddl_container() -> dict[str, Any]:
    """An init container that waits until the Job has made ``atp.location_availability`` Distributed: a loader
    started before would create plain, unreplicated tables with the local DDL."""
    query = (
        "until clickhouse-client --host " + CLICKHOUSE_SERVICE + ' --user "$CH_USER" --password "$CH_PASSWORD" '
        "--query \"SELECT engine FROM system.tables WHERE database = 'atp' AND name = 'location_availability'\" "
        "| grep -qx Distributed; do sleep 5; done"
    )
    return {"name": "wait-for-ddl", "image": CLIENT_IMAGE, "command": ["sh", "-c", query], "env": client_env()}
