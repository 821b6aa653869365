"""``python -m bench short|long|latency|down``: the benchmarks of atp-stream on the bench's own stack.

short  a few minutes: dataflow throughput (1 process) and commit -> output latency at a modest rate; a table.
latency  commit -> output latency through Debezium at each of --rates (one live stack, one flow), a line each.
long   every figure (latency at 1,000 changes/s or the highest rate sustained, throughput 1 and 2 processes,
       RSS per key, recovery size, resume after SIGKILL, a py-spy profile) into bench/results.md.
down   stop the bench stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from atp.errors import AtpError
from bench.env import BENCH_HOME


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line naming the problem, exit status 2, no usage dump or traceback."""

    def error(self, message: str) -> NoReturn:
        print(f"bench: {message}", file=sys.stderr)
        raise SystemExit(2)


def _positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"rate {text!r} is not a number of changes per second") from None
    if not 0 < value <= 100_000:
        raise argparse.ArgumentTypeError(f"rate {text!r} must be above 0 and at most 100000 changes/s")
    return value


def _seconds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of seconds") from None
    if not 1 <= value <= 600:
        raise argparse.ArgumentTypeError(f"{text!r} seconds must be between 1 and 600")
    return value


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 1 and 1000000")
    return value


def _rates(text: str) -> tuple[float, ...]:
    return tuple(_positive_rate(part.strip()) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = parser.add_subparsers(dest="profile", required=True, parser_class=_Parser)
    short = sub.add_parser("short", help="a few minutes; prints a table")
    short.add_argument("--rate", type=_positive_rate, default=200.0, help="changes/s for the latency run (200)")
    short.add_argument("--seconds", type=_seconds, default=15, help="length of the latency run (15)")
    short.add_argument("--keep-stack", action="store_true", help="leave the bench stack running afterwards")
    long = sub.add_parser("long", help="every figure into bench/results.md")
    long.add_argument("--rate", type=_positive_rate, default=1000.0, help="target changes/s (1000)")
    long.add_argument("--seconds", type=_seconds, default=20, help="length of each latency run (20)")
    long.add_argument("--repeats", type=_count, default=3, help="runs per throughput figure; median (3)")
    long.add_argument("--memory-items", type=_count, default=3_000, help="items of the RSS/resume run (3000)")
    long.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.md")
    long.add_argument("--keep-stack", action="store_true", help="leave the bench stack running afterwards")
    latency = sub.add_parser("latency", help="commit -> output latency at several rates; a line each")
    latency.add_argument("--rates", type=_rates, default=(200.0, 1000.0), help="changes/s, comma-separated (200,1000)")
    latency.add_argument("--seconds", type=_seconds, default=20, help="length of each run (20)")
    sub.add_parser("down", help=f"stop the bench stack (ATP_HOME={BENCH_HOME})")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bench import profiles

    try:
        if args.profile == "short":
            profiles.short(args.rate, args.seconds, args.keep_stack)
        elif args.profile == "long":
            profiles.long(args.rate, args.seconds, args.repeats, args.memory_items, args.out, args.keep_stack)
        elif args.profile == "latency":
            profiles.latency_at(args.rates, args.seconds)
        else:
            profiles.stack_down()
    except (AtpError, TimeoutError) as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
