"""``python -m bench short|long|latency|down``: the benchmarks of atp-stream on the bench's own stack.

short  a few minutes: dataflow throughput (1 process) and commit -> output latency at a modest rate; a table.
latency  commit -> output latency through Debezium at each of --rates (one live stack, one flow), a line each.
long   every figure (latency at 200 and 1,000 changes/s, or the highest rate sustained, throughput 1 and 2 processes,
       RSS per key, recovery size, resume after SIGKILL, a py-spy profile, the stage breakdown, what an epoch close
       costs) into bench/results.md.
resume RSS per key and resume after SIGKILL at 1M keys, the flow in process (no stack; minutes of loading);
       its figures go into bench/results.json beside those of the last long run.
down   stop the bench stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from atp.arguments import OneLineParser, bounded_number, run_command
from bench.env import BENCH_HOME

_positive_rate = bounded_number(
    float,
    "rate {text!r} is not a number of changes per second",
    "rate {text!r} must be above 0 and at most 100000 changes/s",
    above=0.0,
    at_most=100_000.0,
)
_seconds = bounded_number(
    int,
    "{text!r} is not a whole number of seconds",
    "{text!r} seconds must be between 1 and 600",
    at_least=1,
    at_most=600,
)
_count = bounded_number(
    int,
    "{text!r} is not a whole number",
    "{text!r} must be between 1 and 1000000",
    at_least=1,
    at_most=1_000_000,
)


def _rates(text: str) -> tuple[float, ...]:
    return tuple(_positive_rate(part.strip()) for part in text.split(","))


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m bench", program="bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="profile", required=True, parser_class=OneLineParser)
    short = sub.add_parser("short", help="a few minutes; prints a table", program="bench")
    short.add_argument("--rate", type=_positive_rate, default=200.0, help="changes/s for the latency run (200)")
    short.add_argument("--seconds", type=_seconds, default=15, help="length of the latency run (15)")
    short.add_argument("--keep-stack", action="store_true", help="leave the bench stack running afterwards")
    long = sub.add_parser("long", help="every figure into bench/results.md", program="bench")
    long.add_argument(
        "--rates", type=_rates, default=(200.0, 1000.0), help="latency runs, changes/s, comma-separated (200,1000)"
    )
    long.add_argument("--seconds", type=_seconds, default=20, help="length of each latency run (20)")
    long.add_argument("--repeats", type=_count, default=3, help="runs per throughput figure; median (3)")
    long.add_argument("--memory-items", type=_count, default=3_000, help="items of the RSS/resume run (3000)")
    long.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.md")
    long.add_argument("--keep-stack", action="store_true", help="leave the bench stack running afterwards")
    latency = sub.add_parser("latency", help="commit -> output latency at several rates; a line each", program="bench")
    latency.add_argument("--rates", type=_rates, default=(200.0, 1000.0), help="changes/s, comma-separated (200,1000)")
    latency.add_argument("--seconds", type=_seconds, default=20, help="length of each run (20)")
    at_scale = sub.add_parser(
        "resume", help="RSS per key and resume after SIGKILL at 1M keys, in process (no stack)", program="bench"
    )
    at_scale.add_argument("--items", type=_count, default=47_200, help="items x 22 locations = keys (47200: 1M)")
    at_scale.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    sub.add_parser("down", help=f"stop the bench stack (ATP_HOME={BENCH_HOME})", program="bench")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A failed benchmark exits 1, a bad argument 2 (raised by the parser, before anything runs).
    return run_command("bench", lambda: _run(args), failure_status=1)


def _run(args: argparse.Namespace) -> None:
    from bench import profiles

    if args.profile == "short":
        profiles.short(args.rate, args.seconds, args.keep_stack)
    elif args.profile == "long":
        profiles.long(args.rates, args.seconds, args.repeats, args.memory_items, args.out, args.keep_stack)
    elif args.profile == "resume":
        profiles.resume_at_scale(args.items, args.out)
    elif args.profile == "latency":
        profiles.latency_at(args.rates, args.seconds)
    else:
        profiles.stack_down()


if __name__ == "__main__":
    sys.exit(main())
