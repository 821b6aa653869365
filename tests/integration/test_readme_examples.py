"""Every SQL example in the README runs on the real store (a README that lies is worse than none)."""

from __future__ import annotations

import re

import pytest

from atp import analyst
from atp.cli import build_parser
from atp.settings import PROJECT_ROOT, Settings

pytestmark = pytest.mark.integration

README = (PROJECT_ROOT / "README.md").read_text()
SQL_EXAMPLES = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def test_the_readme_has_sql_examples():
    assert len(SQL_EXAMPLES) >= 2


@pytest.mark.parametrize("sql", SQL_EXAMPLES, ids=[f"example-{i}" for i in range(len(SQL_EXAMPLES))])
def test_each_readme_sql_example_runs_on_the_store(pipeline: Settings, sql: str):
    analyst.run_query(pipeline.store, sql)


def test_every_command_in_the_readme_table_exists():
    documented = set(re.findall(r"^\| `atp (\w[\w-]*)", README, flags=re.M))
    actions = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert documented == set(actions)
