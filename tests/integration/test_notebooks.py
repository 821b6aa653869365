"""The analyst notebooks run top to bottom against the test stack's store."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from atp.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(pipeline: Settings, path: Path):
    notebook = nbformat.read(path, as_version=4)
    # The kernel inherits this process's environment, i.e. the test stack's ATP_* settings.
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
    ).execute()
