"""The command lines' shared one-line errors: atp's and the bench's words and exit statuses."""

import argparse

import pytest

from atp.arguments import OneLineParser, bounded_number, run_command
from atp.errors import ServiceError
from bench.__main__ import main as bench_main

whole_seconds = bounded_number(
    int, "{text!r} is not a whole number of seconds", "{text!r} must be 1 to 600", at_least=1, at_most=600
)
rate = bounded_number(float, "{text!r} is no rate", "{text!r} must be above 0", above=0.0)


def test_a_bounded_number_is_read_and_kept_within_its_bounds():
    assert whole_seconds("600") == 600
    assert rate("0.5") == 0.5
    with pytest.raises(argparse.ArgumentTypeError, match=r"^'601' must be 1 to 600$"):
        whole_seconds("601")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^'1.5' is not a whole number of seconds$"):
        whole_seconds("1.5")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^'0' must be above 0$"):
        rate("0")


def test_nan_is_refused_by_every_bound():
    with pytest.raises(argparse.ArgumentTypeError, match="must be above 0"):
        rate("nan")


def test_a_bad_argument_is_one_line_beginning_with_the_program_and_status_2(capsys):
    parser = OneLineParser(prog="python -m flows.run", program="flows.run")
    parser.add_argument("-s", type=rate)

    def parse() -> None:
        parser.parse_args(["-s", "soon"])

    assert run_command("flows.run", parse) == 2
    assert capsys.readouterr().err == "flows.run: argument -s: 'soon' is no rate\n"
    with pytest.raises(SystemExit) as refused:
        parser.parse_args(["--unknown"])  # without run_command: the exit argparse's own parser makes
    assert refused.value.code == 2


@pytest.mark.parametrize(
    ("failure", "status", "line"),
    [
        (ServiceError("kafka did not start"), 1, "bench: kafka did not start"),
        (TimeoutError("no record within 60 s"), 1, "bench: no record within 60 s"),
        (KeyboardInterrupt(), 130, "bench: interrupted"),
    ],
)
def test_a_failure_a_user_can_fix_is_one_line_and_a_status(capsys, failure, status, line):
    def command() -> None:
        raise failure

    assert run_command("bench", command, failure_status=1) == status
    assert capsys.readouterr().err == line + "\n"


def test_the_bench_names_a_bad_argument_in_one_line(capsys):
    with pytest.raises(SystemExit) as refused:
        bench_main(["short", "--rate", "0"])
    assert refused.value.code == 2
    assert capsys.readouterr().err == "bench: argument --rate: rate '0' must be above 0 and at most 100000 changes/s\n"
