"""The project installs as a package: its code and its schema files work outside the checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from atp.settings import PROJECT_ROOT

# What a checkout holds that is not the project: environments, service data, caches, build output.
LOCAL_ONLY = (".git", ".venv", ".atp", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis", "notebooks")


def test_an_installed_copy_runs_atp_help_and_finds_its_schemas_outside_the_checkout(tmp_path: Path):
    target, elsewhere, source = tmp_path / "site", tmp_path / "elsewhere", tmp_path / "source"
    elsewhere.mkdir()
    # pip builds in the source tree, and a build/ left there from an earlier build would be packed again,
    # modules since deleted included: build from a clean copy of the checkout instead.
    shutil.copytree(PROJECT_ROOT, source, ignore=shutil.ignore_patterns(*LOCAL_ONLY))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    environment = {**os.environ, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1"}
    probe = (
        "import sys, schemas, connectors.avro_contracts as avro, connectors.clickhouse_store as store\n"
        "import infra.java as java\n"
        "from atp.cli import main\n"
        "assert schemas.__file__.startswith(sys.argv[1]), schemas.__file__\n"
        "assert (avro.AVRO_DIR / 'atp.availability-v1.avsc').is_file()\n"
        "assert sorted(store.DDL_DIR.glob('*.sql')) and (schemas.SOURCES_DIR / 'erp.sql').is_file()\n"
        "assert (java.INFRA_DIR / 'pom.xml').is_file()\n"
        "import infra.deploy.render as deploy\n"
        "ddl = deploy.manifests(deploy.DeployParameters())['31-clickhouse-ddl.yaml']\n"
        "assert 'ReplicatedReplacingMergeTree' in deploy.dump(ddl)\n"
        "sys.argv = ['atp', '--help']\n"
        "main()\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe, str(target)], cwd=elsewhere, env=environment, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "usage: atp" in run.stdout
