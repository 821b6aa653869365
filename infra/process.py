"""Detached service processes: start with a pid file and a log, find, stop, wait until healthy.

Services are started in their own session so they outlive the command that
started them (``atp up`` returns; the stack keeps running) and so that ``stop``
can end the whole process group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from atp.errors import ServiceError
from atp.settings import LocalStackSettings
from connectors.secret_files import PRIVATE_UMASK, open_private_log

Progress = Callable[[str], None]


def log_file(stack: LocalStackSettings, name: str) -> Path:
    return stack.logs_dir / f"{name}.log"


def pid_file(stack: LocalStackSettings, name: str) -> Path:
    return stack.run_dir / f"{name}.pid"


def running_pid(stack: LocalStackSettings, name: str) -> int | None:
    try:
        pid = int(pid_file(stack, name).read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    # A zombie still answers kill(0); treat it as gone.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return None
    return None if state == "Z" else pid


def start_detached(
    stack: LocalStackSettings,
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> int:
    """Start ``argv`` in its own session, its output appended to its log (0600), with umask 077: every file
    and folder the service creates is readable by this OS user only."""
    stack.logs_dir.mkdir(parents=True, exist_ok=True)
    stack.run_dir.mkdir(parents=True, exist_ok=True)
    with os.fdopen(open_private_log(log_file(stack, name)), "ab") as out:
        process = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            umask=PRIVATE_UMASK,
        )
    pid_file(stack, name).write_text(str(process.pid))
    return process.pid


def stop(stack: LocalStackSettings, name: str, timeout_s: float = 30.0) -> bool:
    """SIGTERM the service's process group, SIGKILL it after ``timeout_s``; False if it was not running."""
    pid = running_pid(stack, name)
    if pid is None:
        pid_file(stack, name).unlink(missing_ok=True)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while running_pid(stack, name) is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    if running_pid(stack, name) is not None:
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.5)
    pid_file(stack, name).unlink(missing_ok=True)
    return True


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        os.kill(pid, sig)


def port_open(port: int) -> bool:
    """Cheap first probe: something listens on 127.0.0.1:port (avoids client libraries' retry noise)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_healthy(
    stack: LocalStackSettings,
    name: str,
    healthy: Callable[[], bool],
    progress: Progress,
    log: Path | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll ``healthy`` until it answers True; fail naming the service and its log when time runs out.

    ``alive`` (optional) says whether the service's process still exists: if it died, fail at once.
    """
    log = log or log_file(stack, name)
    started = time.monotonic()
    announced = started
    while True:
        try:
            if healthy():
                progress(f"  {name} healthy after {time.monotonic() - started:.1f}s")
                return
        except Exception:  # noqa: BLE001 - any failure of a probe just means "not yet"
            pass
        elapsed = time.monotonic() - started
        if elapsed > stack.start_timeout_s:
            raise ServiceError(f"{name} did not become healthy within {stack.start_timeout_s:.0f}s; see {log}")
        if alive is not None and not alive():
            raise ServiceError(f"{name} exited during start-up; see {log}")
        if time.monotonic() - announced >= 10:
            progress(f"  waiting for {name} ({elapsed:.0f}s)")
            announced = time.monotonic()
        time.sleep(0.5)
