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


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("ATP_LOCATION_TIMEZONES", "{bad", "not valid JSON"),
        ("ATP_LOCATION_TIMEZONES", '{"DC0001": "Nowhere/Town"}', "unknown time zone"),
        ("ATP_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("ATP_FULFIL_GRACE_S", "-5", "greater than or equal to 0"),
    ],
)
def test_a_bad_engine_setting_gets_one_line_naming_it(capsys, monkeypatch, variable, value, says):
    monkeypatch.setenv(variable, value)
    assert main(["status"]) == 2
    error = one_line_error(capsys)
    assert error.startswith(f"atp: {variable}:") and says in error


def test_help_lists_the_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "atp.cli", "--help"], capture_output=True, text=True, cwd=PROJECT_ROOT
    )
    assert result.returncode == 0
    for command in ("up", "down", "status", "run", "query", "why", "demo"):
        assert command in result.stdout
