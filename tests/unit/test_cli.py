"""A user's mistake gets one line naming it and exit code 2, never a traceback."""

import subprocess
import sys

import pytest

from atp.cli import main
from atp.settings import PROJECT_ROOT


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


def test_an_unknown_command_is_named(capsys):
    assert main(["launch"]) == 2
    assert "invalid choice: 'launch'" in one_line_error(capsys)


def test_a_bad_argument_value_is_named(capsys):
    assert main(["seed", "--items", "-3"]) == 2
    assert "--items" in one_line_error(capsys)


def test_a_bad_setting_names_its_environment_variable(capsys, monkeypatch):
    monkeypatch.setenv("ATP_KAFKA_PORT", "not-a-port")
    assert main(["status"]) == 2
    assert one_line_error(capsys).startswith("atp: ATP_KAFKA_PORT:")


def test_help_lists_the_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "atp.cli", "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0
    for command in ("up", "down", "status", "run", "query", "why", "demo"):
        assert command in result.stdout
