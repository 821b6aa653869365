"""``python -m infra.deploy.render --out DIR``: write the cluster's manifests, one YAML file per component.

The files apply in their numbered order (``kubectl apply -f DIR``) once the Strimzi and Altinity operators run
and the two Secrets exist (infra/deploy/README.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from atp.settings import settings_from_fields
from infra.deploy import apps, clickhouse, kafka, observability
from infra.deploy.parameters import DeployParameters

Manifest = dict[str, Any]


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]
    """Plain YAML a reader can follow: no anchors for shared lists, scripts and SQL as literal blocks."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text)


def dump(documents: list[Manifest]) -> str:
    return str(yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, width=120))


def manifests(params: DeployParameters) -> dict[str, list[Manifest]]:
    """Every manifest, by file name. The pipeline's own settings are the documented defaults."""
    settings = settings_from_fields()
    namespace: Manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": params.namespace}}
    return {
        "00-namespace.yaml": [namespace],
        "10-kafka.yaml": kafka.kafka_cluster(params),
        "11-topics.yaml": kafka.kafka_topics(params, settings.channels),
        "12-connect.yaml": kafka.kafka_connect(params),
        "13-connectors.yaml": kafka.kafka_connectors(params),
        "20-registry.yaml": apps.schema_registry(params),
        "30-clickhouse.yaml": [clickhouse.keeper(params), clickhouse.installation(params)],
        "31-clickhouse-ddl.yaml": clickhouse.ddl(params),
        "40-dataflow.yaml": apps.dataflow(params, settings.dataflow),
        "41-outputs.yaml": apps.outputs(params, settings.stack),
        "50-prometheus.yaml": [observability.prometheus_config(params, settings.dataflow, settings.stack)],
    }


def write(params: DeployParameters, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, documents in manifests(params).items():
        path = out / name
        path.write_text(dump(documents))
        written.append(path)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m infra.deploy.render", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the manifests (created)")
    for name, field in DeployParameters.model_fields.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", dest=name, type=type(field.default), default=field.default,
            help=f"{field.description or name.replace('_', ' ')} (default {field.default})",
        )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> None:
    args = vars(_parser().parse_args(argv))
    out = args.pop("out")
    try:
        params = DeployParameters(**args)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "parameters"
        print(f"infra.deploy.render: {where}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None
    for path in write(params, out):
        print(path)


if __name__ == "__main__":
    main(sys.argv[1:])
