"""The project's own workloads: the schema registry, the dataflow (a StatefulSet) and the outputs (loader and
webhooks, a Deployment), with the ATP_* settings that point them at the cluster's services."""

from __future__ import annotations

from typing import Any

from atp.settings import DataflowSettings, LocalStackSettings
from flows.state_format import STATE_FORMAT
from infra import registry
from infra.deploy.clickhouse import CLICKHOUSE_SECRET, wait_for_ddl_container
from infra.deploy.parameters import DeployParameters

Manifest = dict[str, Any]
REGISTRY = "atp-registry"
REGISTRY_IMAGE = "apicurio/apicurio-registry"
REGISTRY_PORT = 8080
DATAFLOW = "atp-dataflow"
OUTPUTS = "atp-outputs"
BYTEWAX_PORT = 2101  # where each dataflow process listens for its peers
HOME = "/var/lib/atp"  # ATP_HOME in every pod; the dataflow's recovery is under it, on its own volume
# Run as an unprivileged user; the volumes are made writable for its group.
_POD_SECURITY = {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}


def _labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "atp-stream"}


def _service(app: str, namespace: str, port_name: str, port: int) -> Manifest:
    """A ClusterIP Service in front of ``app``'s pods, one named port."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "namespace": namespace, "labels": _labels(app)},
        "spec": {"selector": _labels(app), "ports": [{"name": port_name, "port": port}]},
    }


def _deployment(app: str, namespace: str, pod_spec: Manifest) -> Manifest:
    """One replica of ``app``'s pod (each process of these holds what a second copy would contend for)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "namespace": namespace, "labels": _labels(app)},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": _labels(app)},
            "template": {"metadata": {"labels": _labels(app)}, "spec": pod_spec},
        },
    }


def registry_url(params: DeployParameters) -> str:
    return f"http://{REGISTRY}.{params.namespace}.svc:{REGISTRY_PORT}/apis/ccompat/v7"


def atp_env(params: DeployParameters) -> list[dict[str, Any]]:
    """The settings every atp container shares (the rest keep their documented defaults)."""
    return [
        {"name": "ATP_HOME", "value": HOME},
        {"name": "ATP_KAFKA_BOOTSTRAP", "value": params.bootstrap_servers},
        {"name": "ATP_REGISTRY_URL", "value": registry_url(params)},
    ]


def quarkus_env(properties: dict[str, str]) -> list[dict[str, str]]:
    """Quarkus reads ``a.b-c.d`` from the environment as ``A_B_C_D``."""
    return [
        {"name": "".join(c if c.isalnum() else "_" for c in name).upper(), "value": value}
        for name, value in properties.items()
    ]


def schema_registry(params: DeployParameters) -> list[Manifest]:
    """Apicurio with KafkaSQL storage: the same properties as the local one (``infra.registry``)."""
    from infra.deploy.kafka import pom_version

    snapshots = "/var/lib/apicurio/snapshots"
    properties = registry.storage_properties(params.bootstrap_servers, snapshots)
    pod_spec: Manifest = {
        "containers": [
            {
                "name": "registry",
                "image": f"{REGISTRY_IMAGE}:{pom_version('apicurio.version')}",
                "env": quarkus_env(properties),
                "ports": [{"name": "http", "containerPort": REGISTRY_PORT}],
                "readinessProbe": {"httpGet": {"path": "/apis/ccompat/v7/subjects", "port": "http"}},
                "volumeMounts": [{"name": "snapshots", "mountPath": snapshots}],
            }
        ],
        "volumes": [{"name": "snapshots", "emptyDir": {}}],
    }
    deployment = _deployment(REGISTRY, params.namespace, pod_spec)
    return [deployment, _service(REGISTRY, params.namespace, "http", REGISTRY_PORT)]


def peer_addresses(params: DeployParameters) -> str:
    """``host:port;...`` of every dataflow process, in process order, through the headless Service."""
    return ";".join(f"{DATAFLOW}-{k}.{DATAFLOW}.{params.namespace}.svc:{BYTEWAX_PORT}" for k in range(params.processes))


def recovery_script(params: DeployParameters, dataflow: DataflowSettings) -> str:
    """First start: make the recovery partitions once and keep partition i on process i mod N (Bytewax finds
    them on whichever process holds them). Later starts: refuse another state format, like ``atp run``."""
    recovery, stored, count = f"{HOME}/recovery", f"{HOME}/recovery.format", dataflow.recovery_partitions
    return "\n".join([
        "set -eu",
        f'if [ -d {recovery} ] && [ -n "$(ls -A {recovery})" ]; then',
        f'  found=$(cat {stored} 2>/dev/null || echo 1)',
        f'  if [ "$found" != "{STATE_FORMAT}" ]; then',
        f'    echo "recovery state format $found, this engine needs {STATE_FORMAT}: '
        'rebuild it from the topics (README, Replay)" >&2; exit 1',
        "  fi",
        "  exit 0",
        "fi",
        f"mkdir -p {recovery} /tmp/partitions",
        f"python -m bytewax.recovery /tmp/partitions {count}",
        "i=$BYTEWAX_PROCESS_ID",
        f'while [ "$i" -lt {count} ]; do mv /tmp/partitions/part-$i.sqlite3 {recovery}/; '
        f"i=$((i + {params.processes})); done",
        f"echo {STATE_FORMAT} > {stored}",
    ])  # fmt: skip


def dataflow(params: DeployParameters, settings: DataflowSettings) -> list[Manifest]:
    """The Bytewax cluster: process k is pod k of the StatefulSet, its recovery on pod k's own volume."""
    env = [
        *atp_env(params),
        # The pod's ordinal (Kubernetes 1.28 and later label every StatefulSet pod with it).
        {"name": "BYTEWAX_PROCESS_ID",
         "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['apps.kubernetes.io/pod-index']"}}},
        {"name": "BYTEWAX_ADDRESSES", "value": peer_addresses(params)},
        {"name": "ATP_RECOVERY_PARTITIONS", "value": str(settings.recovery_partitions)},
    ]  # fmt: skip
    volume = [{"name": "recovery", "mountPath": HOME}]
    command = [
        "python", "-m", "flows.run", "-r", f"{HOME}/recovery", "-s", str(settings.snapshot_interval_s),
        "-i", "$(BYTEWAX_PROCESS_ID)", "-a", "$(BYTEWAX_ADDRESSES)",
    ]  # fmt: skip
    statefulset: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": DATAFLOW, "namespace": params.namespace, "labels": _labels(DATAFLOW)},
        "spec": {
            "serviceName": DATAFLOW,
            "replicas": params.processes,
            # Every process must be up before any makes progress: start them together, not one by one.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": _labels(DATAFLOW)},
            "template": {
                "metadata": {"labels": _labels(DATAFLOW)},
                "spec": {
                    "securityContext": _POD_SECURITY,
                    "initContainers": [
                        {"name": "recovery", "image": params.image, "command": ["sh", "-c",
                         recovery_script(params, settings)], "env": env, "volumeMounts": volume},
                    ],
                    "containers": [
                        {
                            "name": "dataflow",
                            "image": params.image,
                            "command": command,
                            "env": env,
                            "ports": [
                                {"name": "bytewax", "containerPort": BYTEWAX_PORT},
                            ],
                            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "4Gi"}},
                            "volumeMounts": volume,
                        }
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "recovery"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": params.recovery_storage}},
                    },
                }
            ],
        },
    }  # fmt: skip
    headless: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": DATAFLOW, "namespace": params.namespace, "labels": _labels(DATAFLOW)},
        "spec": {
            "clusterIP": "None",
            # Peers must resolve each other before they are ready: readiness needs the whole cluster up.
            "publishNotReadyAddresses": True,
            "selector": _labels(DATAFLOW),
            "ports": [{"name": "bytewax", "port": BYTEWAX_PORT}],
        },
    }
    return [statefulset, headless]


def outputs(params: DeployParameters, stack: LocalStackSettings) -> list[Manifest]:
    """``atp run --outputs-only``: the store loader and the partner webhooks, apart from the dataflow."""
    env = [
        *atp_env(params),
        {"name": "ATP_CLICKHOUSE_URL", "valueFrom": {"secretKeyRef": {"name": CLICKHOUSE_SECRET, "key": "url"}}},
    ]
    port = stack.pipeline_metrics_port
    pod_spec: Manifest = {
        "securityContext": _POD_SECURITY,
        "initContainers": [wait_for_ddl_container()],
        "containers": [
            {
                "name": "outputs",
                "image": params.image,
                "command": ["atp", "run", "--outputs-only"],
                "env": env,
                "ports": [{"name": "metrics", "containerPort": port}],
                "volumeMounts": [{"name": "home", "mountPath": HOME}],
            }
        ],
        "volumes": [{"name": "home", "emptyDir": {}}],
    }
    # One replica: the webhooks' rate limits per partner hold per process.
    deployment = _deployment(OUTPUTS, params.namespace, pod_spec)
    return [deployment, _service(OUTPUTS, params.namespace, "metrics", port)]
