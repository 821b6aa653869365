"""Running the pipeline: the Bytewax dataflow and the store loader, supervised together.

``atp run`` is one supervisor process that
- loads the output topics into the store in a thread (and, for chdb, owns the store);
- keeps the lookup API's read model current from the output topics in a thread, and serves the API
  (:mod:`connectors.api_server`) on ``ATP_API_PORT``;
- runs the dataflow as child processes with recovery on: one, or a Bytewax cluster of
  ``ATP_PROCESSES`` (``atp run --processes N``) supervised as one (:mod:`atp.cluster`); if
  any of them dies, all are restarted (they resume from the last snapshot; re-sent
  records carry the same versions).

``atp run --detach`` starts that supervisor in the background with a pid file under
``ATP_HOME/run`` and its log under ``ATP_HOME/logs/pipeline.log``; ``atp stop`` ends it.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path

from atp.cluster import cluster_file, process_commands, read_members, sized, supervise_as_one, write_members
from atp.errors import AtpError, ServiceError
from atp.settings import PROJECT_ROOT, DataflowSettings, LocalStackSettings, Settings
from connectors.secret_files import PRIVATE_UMASK, open_private_log, private_dir
from flows.state_format import STATE_FORMAT

log = logging.getLogger("atp.pipeline")

PIPELINE = "pipeline"

Progress = Callable[[str], None]


def _pid_file(stack: LocalStackSettings) -> Path:
    return stack.run_dir / f"{PIPELINE}.pid"


def flow_pid_file(stack: LocalStackSettings) -> Path:
    """The pid of the dataflow's process 0 (the chaos tests SIGKILL it; the supervisor restarts the cluster)."""
    return stack.run_dir / "dataflow.pid"


def pipeline_log(stack: LocalStackSettings) -> Path:
    return stack.logs_dir / f"{PIPELINE}.log"


def running_pid(stack: LocalStackSettings) -> int | None:
    """The supervisor's pid if it is alive."""
    try:
        pid = int(_pid_file(stack).read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid


def format_file(dataflow: DataflowSettings) -> Path:
    """Where the state format of ``dataflow.recovery_dir`` is written."""
    return dataflow.recovery_dir.with_name(dataflow.recovery_dir.name + ".format")


def ensure_recovery(dataflow: DataflowSettings) -> None:
    """Create the recovery partitions once (their number is fixed afterwards); refuse another state format."""
    stored = format_file(dataflow)
    if dataflow.recovery_dir.exists() and any(dataflow.recovery_dir.iterdir()):
        private_dir(dataflow.recovery_dir)  # one made before it was private becomes so
        found = int(stored.read_text().strip()) if stored.exists() else 1
        if found != STATE_FORMAT:
            raise ServiceError(
                f"recovery state in {dataflow.recovery_dir} has state format {found}, this engine needs "
                f"{STATE_FORMAT}: rebuild it from the topics as the README's 'Replay' says"
            )
        return
    private_dir(dataflow.recovery_dir)  # the dataflow's state: 0700, its files 0600 (umask 077)
    subprocess.run(
        [sys.executable, "-m", "bytewax.recovery", str(dataflow.recovery_dir), str(dataflow.recovery_partitions)],
        check=True,
        cwd=PROJECT_ROOT,
        umask=PRIVATE_UMASK,
    )
    stored.write_text(f"{STATE_FORMAT}\n")


def supervise(settings: Settings, stop: threading.Event, with_dataflow: bool = True) -> None:
    """Run loader and dataflow until ``stop`` is set (or SIGTERM); restart all the dataflow's processes if one dies.

    Without the dataflow (``atp run --outputs-only``: a cluster runs the dataflow as its own StatefulSet,
    infra/deploy) only the loader, the webhooks, the lookup API and their lag reporters run; the connectors' gauge
    is left to the cluster too (it reads the local Connect worker's REST password).
    """
    from atp import metrics
    from connectors import lag, topics
    from connectors.connector_watch import ConnectorWatcher
    from connectors.store_loader import LOADER_GROUP, run_loader, tables_by_topic
    from connectors.webhook_sink import WEBHOOK_GROUP, run_webhooks

    kafka = settings.kafka
    if with_dataflow:
        ensure_recovery(settings.dataflow)
    metrics.serve(settings.stack.pipeline_metrics_port, "pipeline")
    if with_dataflow:
        ConnectorWatcher(settings.stack).start()
    loaded = tuple(tables_by_topic(settings.channels))  # the topics the store loader reads
    lag.LagReporter(
        kafka, "store-loader", loaded, lambda: lag.group_positions(kafka, LOADER_GROUP, loaded), every_s=10
    ).start()
    if settings.webhooks.endpoints:
        pushed = tuple(topics.channel_topic(channel) for channel in settings.webhooks.endpoints)
        lag.LagReporter(
            kafka, "webhooks", pushed, lambda: lag.group_positions(kafka, WEBHOOK_GROUP, pushed), every_s=10
        ).start()
    loader = threading.Thread(
        target=run_loader, args=(settings.store, kafka, settings.channels, stop), name="store-loader", daemon=True
    )
    loader.start()
    # Partner webhooks read the channel topics on their own threads: a slow partner never holds up the flow.
    webhooks = threading.Thread(
        target=run_webhooks, args=(settings.webhooks, kafka, stop), name="webhooks", daemon=True
    )
    webhooks.start()
    api = start_api(settings, stop)
    try:
        _supervise_outputs(settings, stop, loader, with_dataflow)
    finally:
        api.shutdown()
        api.server_close()


def start_api(settings: Settings, stop: threading.Event) -> ThreadingHTTPServer:
    """The lookup API and the feed of its read model, which is seeded from the store once, then reads the output
    topics on its own thread (like the webhooks); the API answers from memory, never from the store."""
    from connectors.api_feed import run_feed
    from connectors.api_read_model import ReadModel
    from connectors.api_server import serve_api
    from connectors.secret_files import ensure_secret

    read_model = ReadModel()
    threading.Thread(
        target=run_feed,
        args=(settings.kafka, settings.channels, settings.store, read_model, stop),
        name="api-read-model",
        daemon=True,
    ).start()
    return serve_api(read_model, settings.api.port, ensure_secret(settings.api.token_file))


def _supervise_outputs(
    settings: Settings, stop: threading.Event, loader: threading.Thread, with_dataflow: bool
) -> None:
    """Until ``stop``: the dataflow's processes (restarted together if one dies), or with ``--outputs-only`` the
    loader alone; a loader that stopped on its own is an error."""
    if not with_dataflow:
        while not stop.is_set() and loader.is_alive():
            stop.wait(0.5)
        if not loader.is_alive() and not stop.is_set():
            raise AtpError("the store loader stopped; see the log above")
        loader.join(timeout=30)
        return

    def started(processes: list[subprocess.Popen[bytes]]) -> None:
        pids = [process.pid for process in processes]
        flow_pid_file(settings.stack).write_text(str(pids[0]))
        write_members(settings.stack, settings.dataflow, pids)

    try:
        supervise_as_one(
            process_commands(settings.dataflow), stop, healthy=loader.is_alive, started=started, cwd=PROJECT_ROOT
        )
    finally:
        flow_pid_file(settings.stack).unlink(missing_ok=True)
        cluster_file(settings.stack).unlink(missing_ok=True)
    if not loader.is_alive() and not stop.is_set():
        raise AtpError("the store loader stopped; see the log above")
    loader.join(timeout=30)


def run_foreground(settings: Settings, with_dataflow: bool = True) -> None:
    os.umask(PRIVATE_UMASK)  # the store, its token, the logs and the recovery this process makes: 0700 / 0600
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    settings.stack.run_dir.mkdir(parents=True, exist_ok=True)
    _pid_file(settings.stack).write_text(str(os.getpid()))
    try:
        supervise(settings, stop, with_dataflow)
    finally:
        _pid_file(settings.stack).unlink(missing_ok=True)


def start_detached(settings: Settings, progress: Progress) -> int:
    """Start the supervisor in the background (idempotent) and wait until its store endpoint answers."""
    from connectors.clickhouse_store import store_endpoint_alive

    settings = sized(settings, None)  # ATP_PROCESSES checked here too (`atp demo` comes this way)
    stack = settings.stack
    pid = running_pid(stack)
    process: subprocess.Popen[bytes] | None = None
    if pid is not None:
        _refuse_another_size(settings, pid)
    if pid is None:
        ensure_recovery(settings.dataflow)  # a recovery of another state format is refused here, in one line
        stack.logs_dir.mkdir(parents=True, exist_ok=True)
        with os.fdopen(open_private_log(pipeline_log(stack)), "ab") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "atp.cli", "run", "--processes", str(settings.dataflow.processes)],
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                umask=PRIVATE_UMASK,
            )
        pid = process.pid
        progress(f"pipeline started (pid {pid}); log: {pipeline_log(stack)}")
    deadline = time.monotonic() + 60
    while not settings.store.clickhouse_url and not store_endpoint_alive(settings.store):
        if process is not None and process.poll() is not None:
            raise AtpError(f"the pipeline exited at start; see {pipeline_log(stack)}")
        if time.monotonic() > deadline:
            raise AtpError(f"the pipeline's store endpoint did not answer within 60s; see {pipeline_log(stack)}")
        time.sleep(0.3)
    return pid


def _refuse_another_size(settings: Settings, pid: int) -> None:
    """A running pipeline is left alone, but not when asked for another cluster size: that is a rescale."""
    running = len(read_members(settings.stack))
    wanted = settings.dataflow.processes
    if running and running != wanted:
        raise AtpError(
            f"the pipeline (pid {pid}) runs {running} dataflow process(es), not {wanted}: to rescale, `atp stop`, "
            f"then `atp run --processes {wanted}` (it resumes from the same recovery store)"
        )


def stop_pipeline(stack: LocalStackSettings, timeout_s: float = 30.0) -> bool:
    """Stop the supervisor (and with it the dataflow and loader); False if none was running."""
    pid = running_pid(stack)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running_pid(stack) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid(stack) is not None:
        os.killpg(pid, signal.SIGKILL)
    _pid_file(stack).unlink(missing_ok=True)
    return True
