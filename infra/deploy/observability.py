"""Prometheus for the cluster: the local scrape config's jobs pointed at the pods, and the local alert rules
(``infra/observability``), as one ConfigMap a Prometheus server mounts."""

from __future__ import annotations

from typing import Any

import yaml

from atp.settings import DataflowSettings, LocalStackSettings
from infra.deploy.apps import DATAFLOW, OUTPUTS
from infra.deploy.parameters import DeployParameters
from infra.java import INFRA_DIR

Manifest = dict[str, Any]
OBSERVABILITY_DIR = INFRA_DIR / "observability"
# Left out of the cluster's rules: its gauge comes from the local supervisor's watch of the Connect worker,
# which `atp run --outputs-only` does not run; Strimzi reports each KafkaConnector's state in its status.
LOCAL_ONLY_ALERTS = ("AtpConnectorNotRunning",)


def _local(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((OBSERVABILITY_DIR / name).read_text())
    return loaded


def alert_rules() -> dict[str, Any]:
    rules = _local("alerts.yml")
    for group in rules["groups"]:
        group["rules"] = [rule for rule in group["rules"] if rule.get("alert") not in LOCAL_ONLY_ALERTS]
    return rules


def scrape_config(params: DeployParameters, dataflow: DataflowSettings, stack: LocalStackSettings) -> dict[str, Any]:
    """The local jobs, by name (the alerts use them), with the cluster's targets: process k of the dataflow
    serves on ATP_FLOW_METRICS_PORT + k, so each pod is listed with its own port."""
    config = _local("prometheus.yml")
    base, ns = dataflow.flow_metrics_port, params.namespace
    targets = {
        "atp-dataflow": [f"{DATAFLOW}-{k}.{DATAFLOW}.{ns}.svc:{base + k}" for k in range(params.processes)],
        "atp-pipeline": [f"{OUTPUTS}.{ns}.svc:{stack.pipeline_metrics_port}"],
    }
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    if jobs != set(targets):
        raise ValueError(f"infra/observability/prometheus.yml has jobs {sorted(jobs)}, expected {sorted(targets)}")
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
    return config


def prometheus_config(params: DeployParameters, dataflow: DataflowSettings, stack: LocalStackSettings) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "atp-prometheus", "namespace": params.namespace},
        "data": {
            "prometheus.yml": yaml.safe_dump(scrape_config(params, dataflow, stack), sort_keys=False),
            "alerts.yml": yaml.safe_dump(alert_rules(), sort_keys=False),
        },
    }
