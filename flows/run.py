"""Start the availability dataflow: ``python -m flows.run -r RECOVERY_DIR -s EPOCH_SECONDS [-i K -a ADDRESSES]``.

Bytewax's own ``python -m bytewax.run`` takes the epoch in whole seconds. Records are
published when their epoch closes (``flows.epoch_gate``), so the epoch is the
latency a record pays for the all-at-once guarantee, and it is set here in fractions of
a second (``ATP_SNAPSHOT_INTERVAL_S``) through Bytewax's public ``cli_main``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from bytewax.recovery import RecoveryConfig
from bytewax.run import cli_main

from atp.arguments import OneLineParser, bounded_number


def _seconds(text: str) -> dt.timedelta:
    seconds = bounded_number(
        float,
        "not a number of seconds: {text!r}",
        "must be above 0 and at most 3600 seconds: {text!r}",
        above=0.0,
        at_most=3600.0,
    )(text)
    return dt.timedelta(seconds=seconds)


def _parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m flows.run", description=__doc__.splitlines()[0], program="flows.run")
    parser.add_argument("-r", "--recovery-directory", type=Path, help="Bytewax recovery store (omit: no recovery)")
    parser.add_argument("-s", "--snapshot-interval", type=_seconds, default=dt.timedelta(seconds=0.2))
    parser.add_argument("-b", "--backup-interval", type=_seconds, default=None)
    parser.add_argument("-w", "--workers-per-process", type=int, default=1)
    parser.add_argument("-i", "--process-id", type=int, default=None)
    parser.add_argument("-a", "--addresses", default=None, help="host:port;host:port of every process")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    from flows.process import flow_from_environment

    recovery = (
        None
        if args.recovery_directory is None
        else RecoveryConfig(str(args.recovery_directory), args.backup_interval or dt.timedelta(0))  # type: ignore[no-untyped-call]
    )
    addresses = args.addresses.split(";") if args.addresses else None
    cli_main(  # type: ignore[no-untyped-call]
        flow_from_environment(),
        workers_per_process=args.workers_per_process,
        process_id=args.process_id,
        addresses=addresses,
        epoch_interval=args.snapshot_interval,
        recovery_config=recovery,
    )


if __name__ == "__main__":
    main(sys.argv[1:])
