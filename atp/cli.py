"""``atp``: start, stop and check the stack, run the pipeline, query the store.

Errors a user can fix (a bad argument, a bad setting, a service that will not
start) print one line naming the problem and exit with code 2; no traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from atp.arguments import OneLineParser, bounded_number, run_command
from atp.errors import AtpError
from atp.settings import Settings, load_settings


def say(line: str) -> None:
    print(line, flush=True)


class _Parser(OneLineParser):
    def one_line(self, message: str) -> str:
        # Names the command too ("atp: atp seed: argument --items: ..."): which of atp's commands refused it.
        return f"{self.program}: {self.prog}: {message}"


_positive_int = bounded_number(int, "{text!r} is not a whole number", "{text!r} must be positive", above=0)


# ``--processes``: at most the input topics' partitions too, which atp.cluster.sized checks against the
# settings (ATP_INPUT_PARTITIONS), read after the arguments.
_cluster_size = bounded_number(int, "{text!r} is not a whole number", "{text!r} must be at least 1", above=0)


# -- commands ---------------------------------------------------------------------------------


def cmd_install(settings: Settings, args: argparse.Namespace) -> None:
    from infra import stack

    stack.install(settings.stack, say)


def cmd_up(settings: Settings, args: argparse.Namespace) -> None:
    from atp import bootstrap

    bootstrap.bring_up(settings, say)


def cmd_down(settings: Settings, args: argparse.Namespace) -> None:
    from atp.pipeline import stop_pipeline
    from infra import stack

    if stop_pipeline(settings.stack):
        say("pipeline stopped")
    stack.down(settings.stack, settings.kafka)
    say("stack stopped")


def cmd_status(settings: Settings, args: argparse.Namespace) -> None:
    from atp.status import print_status

    print_status(settings, say)


def cmd_seed(settings: Settings, args: argparse.Namespace) -> None:
    from atp.demo.generator import DemoSize
    from atp.demo.seed import seed

    size = DemoSize(items=args.items, dcs=args.dcs, stores=args.stores, seed=args.seed)
    seed(settings.stack, size, say)


def cmd_register_cdc(settings: Settings, args: argparse.Namespace) -> None:
    from connectors.cdc_connectors import register_cdc

    register_cdc(settings.stack, settings.kafka, say)


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    from atp import pipeline
    from atp.cluster import sized

    settings = sized(settings, args.processes)

    if args.detach and args.outputs_only:
        raise AtpError("--outputs-only runs in the foreground (a cluster's Deployment); drop --detach")
    if args.detach:
        pipeline.start_detached(settings, say)
    else:
        from atp.log_format import configure_logging

        configure_logging()
        pipeline.run_foreground(settings, with_dataflow=not args.outputs_only)


def cmd_stop(settings: Settings, args: argparse.Namespace) -> None:
    from atp.pipeline import stop_pipeline

    say("pipeline stopped" if stop_pipeline(settings.stack) else "pipeline was not running")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from atp.demo import show

    show.run_demo(settings, say, items=args.items)


def cmd_query(settings: Settings, args: argparse.Namespace) -> None:
    from atp import analyst

    analyst.print_rows(analyst.run_query(settings.store, args.sql), say)


def cmd_why(settings: Settings, args: argparse.Namespace) -> None:
    from atp import analyst

    analyst.print_rows(analyst.why(settings.store, args.sku, args.location), say)


def cmd_forget_customer(settings: Settings, args: argparse.Namespace) -> None:
    from atp.privacy_requests import forget_customer

    report = forget_customer(settings.store, args.subject, settings.kafka)
    say(
        f"checked {', '.join(report.checked)}; removed {report.removed_total} row(s); "
        f"recorded in atp.privacy_audit as subject sha256 {report.subject_sha256[:16]}..."
    )
    for mentions in report.kafka:
        if mentions.gone_by is None:
            say(f"kafka {mentions.topic}: no record mentions it")
        else:
            say(
                f"kafka {mentions.topic}: {mentions.records} record(s) mention it; Kafka cannot delete single "
                f"records, and the topic's retention removes them by {mentions.gone_by:%Y-%m-%d %H:%M} UTC"
            )


def cmd_reconcile(settings: Settings, args: argparse.Namespace) -> None:
    while True:
        _reconcile_once(settings, args)
        if not args.every:
            return
        time.sleep(args.every)  # a scheduled run: until interrupted (or run it from cron without --every)


def _reconcile_once(settings: Settings, args: argparse.Namespace) -> None:
    from atp import analyst
    from atp.reconcile import reconcile

    report = reconcile(settings, repair=args.repair, settle_s=args.settle)
    say(report.summary())
    rows = [
        {
            "sku": d.sku,
            "location": d.location,
            "field": d.field,
            "pipeline": d.pipeline_value,
            "source": d.source_value,
            "since": dt.datetime.fromtimestamp(d.since_ms / 1000, dt.UTC).isoformat(timespec="seconds"),
        }
        for d in report.drifts[:50]
    ]
    if rows:
        analyst.print_rows(rows, say)
        if len(report.drifts) > 50:
            more = len(report.drifts) - 50
            say(f"... and {more} more: SELECT * FROM atp.reconcile_drift WHERE run_id = '{report.run_id}'")


_seconds = bounded_number(
    float,
    "{text!r} is not a number of seconds",
    "{text!r} must be between 0 and 3600 seconds",
    at_least=0.0,
    at_most=3600.0,
)


# -- parser -----------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atp", program="atp", description="atp-stream: real-time available-to-promise from ERP/POS CDC."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def add(
        name: str, handler: Callable[[Settings, argparse.Namespace], None], help_text: str
    ) -> argparse.ArgumentParser:
        command = sub.add_parser(name, help=help_text, description=help_text, program="atp")
        command.set_defaults(handler=handler)
        return command

    add("install", cmd_install, "Fetch Kafka, Kafka Connect, Debezium and the schema registry from Maven Central.")
    add("up", cmd_up, "Start every service (idempotent), create topics and register the output contracts.")
    add("down", cmd_down, "Stop the pipeline and every service.")
    add("status", cmd_status, "Each service's health, the connectors, and consumer lag.")
    seed = add("seed", cmd_seed, "Create and fill the demo ERP and POS databases (only if empty).")
    seed.add_argument("--items", type=_positive_int, default=2000, help="number of items (default 2000)")
    seed.add_argument("--dcs", type=_positive_int, default=2, help="distribution centres (default 2)")
    seed.add_argument("--stores", type=_positive_int, default=20, help="stores (default 20)")
    seed.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    add(
        "register-cdc",
        cmd_register_cdc,
        "Register the Debezium connectors for the ERP and the POS and wait until RUNNING.",
    )
    run = add("run", cmd_run, "Run the availability dataflow and the store loader (foreground unless --detach).")
    run.add_argument("--detach", action="store_true", help="run in the background; stop with `atp stop`")
    run.add_argument(
        "--outputs-only",
        action="store_true",
        help="run the store loader and webhooks only, not the dataflow (a cluster runs it apart: infra/deploy)",
    )
    run.add_argument(
        "--processes",
        type=_cluster_size,
        default=None,
        help="dataflow processes: one Bytewax cluster, supervised as one (at most the input topics' partitions; "
        "default ATP_PROCESSES)",
    )
    add("stop", cmd_stop, "Stop the pipeline started with `atp run --detach`.")
    demo = add("demo", cmd_demo, "Everything, end to end: install, up, seed, CDC, pipeline, then live changes.")
    demo.add_argument("--items", type=_positive_int, default=2000, help="demo catalogue size (default 2000)")
    query = add("query", cmd_query, "Run a SQL query on the ClickHouse store.")
    query.add_argument("sql", help='e.g. "SELECT * FROM atp.location_availability FINAL LIMIT 5"')
    why = add("why", cmd_why, "Why does SKU X show N at location Y: the chain of inputs behind it.")
    why.add_argument("sku")
    why.add_argument("location")
    forget = add(
        "forget-customer",
        cmd_forget_customer,
        "A customer's deletion request: remove every stored row that mentions them, and audit it.",
    )
    forget.add_argument("subject", help="the customer's email, loyalty id or channel customer_ref")
    reconcile = add(
        "reconcile",
        cmd_reconcile,
        "Compare the published availability with a fresh read of the ERP, the POS and the reservation log; "
        "record every drift in atp.reconcile_drift.",
    )
    reconcile.add_argument("--repair", action="store_true", help="send the dataflow a correction for each stock drift")
    reconcile.add_argument(
        "--settle", type=_seconds, default=5.0, help="seconds before re-checking a candidate drift (default 5)"
    )
    reconcile.add_argument("--every", type=_positive_int, help="run again every N seconds until interrupted")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_command("atp", lambda: _run(argv))


def _run(argv: Sequence[str] | None) -> None:
    args = build_parser().parse_args(argv)
    settings = load_settings()
    handler: Any = args.handler
    handler(settings, args)


if __name__ == "__main__":
    sys.exit(main())
