"""The dataflow as a cluster of processes: its size and ports, each process's command, the supervisor that
restarts all of them when one dies (real child processes: Python sleepers), and what `atp status` shows."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from atp.cli import main
from atp.cluster import (
    FIRST_BACKOFF_S,
    MAX_BACKOFF_S,
    Member,
    next_backoff,
    process_commands,
    read_members,
    sized,
    supervise_as_one,
    write_members,
)
from atp.errors import AtpError, ConfigError
from atp.pipeline import _refuse_another_size
from atp.settings import settings_from_fields
from atp.status import cluster_state, latency_rows, print_processes, process_figures

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    return err


# -- size and ports -----------------------------------------------------------------------------------


def test_one_process_by_default_and_the_cluster_ports_follow_the_base():
    assert settings_from_fields().dataflow.processes == 1
    dataflow = settings_from_fields(processes=3, cluster_port=18110).dataflow
    assert dataflow.cluster_addresses() == ["127.0.0.1:18110", "127.0.0.1:18111", "127.0.0.1:18112"]
    assert [dataflow.metrics_port(k) for k in range(3)] == [18100, 18101, 18102]
    assert settings_from_fields(processes=2, flow_metrics_port=0).dataflow.metrics_port(1) == 0


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"processes": 0}, "ATP_PROCESSES: Input should be greater than or equal to 1"),
        ({"processes": 3, "cluster_port": 18098}, "ATP_CLUSTER_PORT: ports 18098-18100 of the 3-process cluster meet"),
        ({"processes": 2, "cluster_port": 18124 - 1}, "meet ATP_STORE_PORT (port 18124)"),
        ({"processes": 2, "cluster_port": 65535}, "ATP_CLUSTER_PORT: 2 processes from port 65535 go past 65535"),
    ],
)
def test_a_bad_cluster_setting_is_one_line_naming_it(fields, says):
    with pytest.raises(ConfigError, match="^ATP_") as refused:
        settings_from_fields(**fields)
    assert says in str(refused.value)


def test_one_process_opens_no_cluster_port_so_its_base_may_be_anything():
    assert settings_from_fields(processes=1, cluster_port=18100).dataflow.cluster_port == 18100


def test_more_processes_than_the_input_partitions_is_refused():
    with pytest.raises(ConfigError, match="^ATP_PROCESSES: 5 processes, but the input topics have 4 partitions"):
        sized(settings_from_fields(processes=5), None)


def test_the_command_line_size_overrides_the_setting_and_is_checked_with_the_ports():
    assert sized(settings_from_fields(processes=1), 4).dataflow.processes == 4
    assert sized(settings_from_fields(processes=2), None).dataflow.processes == 2
    with pytest.raises(ConfigError, match="^ATP_CLUSTER_PORT:"):
        sized(settings_from_fields(cluster_port=18099), 2)


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("0", "atp run: argument --processes: '0' must be at least 1"),
        (
            "5",
            "--processes: 5 processes, but the input topics have 4 partitions (ATP_INPUT_PARTITIONS): "
            "a process beyond them would read nothing",
        ),
        ("two", "atp run: argument --processes: 'two' is not a whole number"),
        ("1.5", "atp run: argument --processes: '1.5' is not a whole number"),
    ],
)
def test_a_bad_processes_argument_is_one_line_and_exit_2(capsys, value, says):
    assert main(["run", "--processes", value]) == 2
    assert one_line_error(capsys) == f"atp: {says}"


def test_a_bad_processes_setting_is_one_line_and_exit_2(capsys, monkeypatch):
    monkeypatch.setenv("ATP_PROCESSES", "9")
    assert main(["run"]) == 2
    assert one_line_error(capsys).startswith("atp: ATP_PROCESSES: 9 processes, but the input topics have 4")


# -- each process's command ----------------------------------------------------------------------------


def test_one_process_runs_without_cluster_flags():
    dataflow = settings_from_fields(home="/srv/atp", snapshot_interval_s=0.5).dataflow
    [command] = process_commands(dataflow)
    assert command[1:] == ["-m", "flows.run", "-r", "/srv/atp/recovery", "-s", "0.5"]


def test_each_process_gets_its_index_and_every_address_and_all_share_the_recovery_store():
    dataflow = settings_from_fields(home="/srv/atp", processes=3, cluster_port=19000).dataflow
    commands = process_commands(dataflow)
    addresses = "127.0.0.1:19000;127.0.0.1:19001;127.0.0.1:19002"
    for index, command in enumerate(commands):
        assert command[1:] == [
            "-m", "flows.run", "-r", "/srv/atp/recovery", "-s", "0.2", "-i", str(index), "-a", addresses,
        ]  # fmt: skip


# -- supervised as one ---------------------------------------------------------------------------------


class Supervised:
    """``supervise_as_one`` on a thread, over real child processes; records each start's processes."""

    def __init__(self, commands: list[list[str]], healthy=lambda: True) -> None:  # type: ignore[no-untyped-def]
        self.stop = threading.Event()
        self.starts: list[list[subprocess.Popen[bytes]]] = []
        self.thread = threading.Thread(
            target=supervise_as_one,
            args=(commands, self.stop),
            kwargs={"healthy": healthy, "started": self.starts.append, "first_backoff_s": 0.05, "poll_s": 0.05},
            daemon=True,
        )
        self.thread.start()

    def wait_for_start(self, number: int, timeout_s: float = 20) -> list[subprocess.Popen[bytes]]:
        deadline = time.monotonic() + timeout_s
        while len(self.starts) < number:
            assert time.monotonic() < deadline, f"start {number} did not come"
            time.sleep(0.02)
        return self.starts[number - 1]

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def test_a_process_killed_stops_the_others_and_the_whole_cluster_starts_again():
    supervised = Supervised([SLEEPER, SLEEPER, SLEEPER])
    try:
        first = supervised.wait_for_start(1)
        os.kill(first[1].pid, signal.SIGKILL)
        second = supervised.wait_for_start(2)
        assert [p.returncode for p in first] == [-signal.SIGTERM, -signal.SIGKILL, -signal.SIGTERM]
        assert len(second) == 3 and all(p.poll() is None for p in second)
        assert not {p.pid for p in first} & {p.pid for p in second}
    finally:
        supervised.finish()
    assert all(p.returncode is not None for p in supervised.starts[-1]), "stop stops every process"


def test_a_process_that_exits_by_itself_restarts_the_cluster_too():
    quitter = [sys.executable, "-c", "import sys, time; time.sleep(0.3); sys.exit(3)"]
    supervised = Supervised([SLEEPER, quitter])
    try:
        first = supervised.wait_for_start(1)
        supervised.wait_for_start(2)
        assert first[1].returncode == 3 and first[0].returncode == -signal.SIGTERM
    finally:
        supervised.finish()


def test_stop_ends_every_process_and_starts_no_other():
    supervised = Supervised([SLEEPER, SLEEPER])
    only = supervised.wait_for_start(1)
    supervised.finish()
    assert all(p.returncode == -signal.SIGTERM for p in only)
    assert len(supervised.starts) == 1


def test_when_the_supervisor_turns_unhealthy_the_cluster_is_stopped_and_not_restarted():
    loader_alive = threading.Event()
    loader_alive.set()
    supervised = Supervised([SLEEPER, SLEEPER], healthy=loader_alive.is_set)
    only = supervised.wait_for_start(1)
    loader_alive.clear()
    supervised.thread.join(30)
    assert not supervised.thread.is_alive()
    assert all(p.returncode is not None for p in only) and len(supervised.starts) == 1


def test_the_restart_backoff_grows_on_crashes_at_start_and_resets_after_a_kill_or_a_long_run():
    assert next_backoff(1.0, [1], ran_s=2) == 2.0
    assert next_backoff(16.0, [1, -15], ran_s=2) == FIRST_BACKOFF_S  # one was killed from outside
    assert next_backoff(16.0, [1], ran_s=61) == FIRST_BACKOFF_S
    assert next_backoff(MAX_BACKOFF_S, [1], ran_s=2) == MAX_BACKOFF_S


# -- what the running cluster is ------------------------------------------------------------------------


def test_the_members_are_written_for_status_and_a_running_pipeline_of_another_size_is_not_resized(tmp_path):
    settings = settings_from_fields(home=str(tmp_path), processes=2)
    settings.stack.run_dir.mkdir(parents=True)
    write_members(settings.stack, settings.dataflow, [101, 102])
    assert read_members(settings.stack) == [Member(0, 101, 18100), Member(1, 102, 18101)]
    _refuse_another_size(settings, 100)  # the same size: left running, no error
    with pytest.raises(AtpError, match=r"runs 2 dataflow process\(es\), not 4: to rescale, `atp stop`"):
        _refuse_another_size(sized(settings, 4), 100)


def test_status_shows_every_process_alive_or_not(tmp_path):
    settings = settings_from_fields(home=str(tmp_path), processes=2, flow_metrics_port=0)
    settings.stack.run_dir.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_members(settings.stack, settings.dataflow, [os.getpid(), dead.pid])
    lines: list[str] = []
    print_processes(settings, lines.append)
    assert lines[0] == "  dataflow: 2 process(es), one Bytewax cluster"
    assert lines[1].split() == ["ok", "process", "0", "pid", str(os.getpid()), "metrics", "off"]
    assert lines[2].split() == ["DOWN", "process", "1", "pid", str(dead.pid), "metrics", "off"]


def test_each_process_reports_its_own_lag_and_state():
    samples = [
        ("atp_consumer_lag", {"consumer": "dataflow", "topic": "erp.STOCK_BAL", "partition": "0"}, 7.0),
        ("atp_consumer_lag", {"consumer": "dataflow", "topic": "pos.store_stock", "partition": "2"}, 5.0),
        ("atp_keys_in_state", {"step": "availability"}, 40.0),
        ("atp_keys_in_state", {"step": "kits"}, 3.0),
        ("atp_active_holds", {}, 2.0),
    ]
    assert process_figures(samples) == (12, 40, 2)


def test_the_clusters_state_adds_up_every_process_share():
    def process(skus: float, kits: float, holds: float) -> list[tuple[str, dict[str, str], float]]:
        return [
            ("atp_keys_in_state", {"step": "availability"}, skus),
            ("atp_keys_in_state", {"step": "kits"}, kits),
            ("atp_active_holds", {}, holds),
        ]

    assert cluster_state(process(48, 2, 11) + process(33, 1, 5)) == (81, 16, 84)


def test_latency_of_a_cluster_adds_every_process_bucket_by_bucket():
    def process(fast: float, total: float) -> list[tuple[str, dict[str, str], float]]:
        labels = {"topic": "atp.availability", "source": "erp"}
        return [
            ("atp_end_to_end_latency_seconds_bucket", labels | {"le": "0.1"}, fast),
            ("atp_end_to_end_latency_seconds_bucket", labels | {"le": "+Inf"}, total),
        ]

    [(_, _, count, (p50, _, _))] = latency_rows(process(10, 10) + process(0, 10))
    assert count == 20 and p50 == pytest.approx(0.1)
