"""The analyst notebooks run top to bottom against the test stack's store: their assertions hold on the
demo data (invariants, not figures), and each draws at least one chart."""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from atp import analyst
from atp.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo_data(pipeline: Settings) -> Settings:
    """The pipeline with the seeded demo loaded into the store, so the notebooks check real records
    (run on their own, they could otherwise start before the loader's first batch)."""
    deadline = time.monotonic() + 180
    while True:
        rows = analyst.run_query(pipeline.store, "SELECT count() AS keys FROM atp.location_availability FINAL")
        if rows and int(rows[0]["keys"]) > 0:
            return pipeline
        assert time.monotonic() < deadline, "the demo data never reached the store"
        time.sleep(2)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_its_assertions_hold_and_it_draws_a_png(
    demo_data: Settings, path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    # The kernel inherits this process's environment, i.e. the test stack's ATP_* settings: the notebook
    # asks the running loader's endpoint. A failed assertion in a cell raises CellExecutionError here.
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(PROJECT_ROOT)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name} drew no chart"
