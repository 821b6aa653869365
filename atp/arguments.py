"""What every command line of atp-stream does with a mistake: one line on stderr and an exit status.

A bad argument prints ``PROGRAM: what is wrong`` and exits 2, with no usage dump;
an error a user can fix (a setting, a service, a timeout) prints one line too,
never a traceback. ``atp`` and ``python -m bench`` use it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

from atp.errors import AtpError

BAD_ARGUMENTS = 2  # argparse's own exit status for a bad argument
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C

Number = TypeVar("Number", int, float)


class ArgumentsRefused(SystemExit):
    """A bad argument, already told in one line. A SystemExit, as argparse's own, so that a program
    that only parses still ends quietly with status 2; :func:`run_command` returns the status instead."""


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose error is one line, ``PROGRAM: what is wrong``, then exit status 2.

    ``program`` is the short name the line begins with (``bench`` for ``python -m bench``).
    Sub-command parsers need it too: ``add_subparsers(parser_class=OneLineParser)``, then
    ``add_parser(name, program=...)``.
    """

    def __init__(self, *args: Any, program: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.program = program

    def one_line(self, message: str) -> str:
        """The line a bad argument prints; a program that names its sub-command in it overrides this."""
        return f"{self.program}: {message}"

    def error(self, message: str) -> NoReturn:
        print(self.one_line(message), file=sys.stderr)
        raise ArgumentsRefused(BAD_ARGUMENTS)


def bounded_number(
    parse: Callable[[str], Number],
    not_a_number: str,
    out_of_bounds: str,
    *,
    above: Number | None = None,
    at_least: Number | None = None,
    at_most: Number | None = None,
) -> Callable[[str], Number]:
    """An argparse ``type=``: the argument read by ``parse`` (``int``, ``float``) and held within the bounds.

    The two messages are templates of the argument as given, e.g. ``"{text!r} is not a whole number"``;
    argparse puts the option's name before them.
    """

    def argument(text: str) -> Number:
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(not_a_number.format(text=text)) from None
        # Written as "within", not "outside": NaN compares false either way and must be refused.
        within = (
            (above is None or value > above)
            and (at_least is None or value >= at_least)
            and (at_most is None or value <= at_most)
        )
        if not within:
            raise argparse.ArgumentTypeError(out_of_bounds.format(text=text))
        return value

    return argument


def run_command(program: str, command: Callable[[], object], failure_status: int = 2) -> int:
    """Run ``command`` and return the process's exit status; every mistake a user can fix is one line.

    A bad argument: 2 (its line is already printed). An :class:`AtpError` or a timeout:
    ``PROGRAM: error`` and ``failure_status``. Ctrl-C: ``PROGRAM: interrupted`` and 130.
    """
    try:
        command()
    except ArgumentsRefused:
        return BAD_ARGUMENTS
    except (AtpError, TimeoutError) as exc:
        print(f"{program}: {exc}", file=sys.stderr)
        return failure_status
    except KeyboardInterrupt:
        print(f"{program}: interrupted", file=sys.stderr)
        return INTERRUPTED
    return 0
