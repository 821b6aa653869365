"""Figure e: where the dataflow spends its time, from py-spy's collapsed stacks (``py-spy record -f raw``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from atp.settings import PROJECT_ROOT


@dataclass(frozen=True)
class HotSpot:
    frame: str
    share: float  # of all samples


@dataclass(frozen=True)
class Profile:
    samples: int
    self_time: list[HotSpot]  # the frame on top of the stack
    inclusive: list[HotSpot]  # the frame anywhere on the stack (our code only)


def py_spy() -> Path | None:
    # Beside this interpreter first (the project's .venv, also when the bench runs from a copy of the code).
    beside = Path(sys.executable).parent / "py-spy"
    path = beside if beside.exists() else Path(shutil.which("py-spy") or PROJECT_ROOT / ".venv" / "bin" / "py-spy")
    return path if path.exists() else None


def record(pid: int, seconds: int, out: Path, rate: int = 50) -> bool:
    """Sample ``pid`` for ``seconds``; False if py-spy is missing or could not attach."""
    tool = py_spy()
    if tool is None:
        return False
    done = subprocess.run(
        [
            str(tool),
            "record",
            "-p",
            str(pid),
            "-d",
            str(seconds),
            "-r",
            str(rate),
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],  # fmt: skip
        check=False,
        capture_output=True,
    )
    return done.returncode == 0 and out.exists()


def _short(frame: str) -> str:
    """``write_batch (connectors/kafka_sink.py:80)`` from py-spy's ``write_batch (/abs/path/connectors/...:80)``."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("/site-packages/", str(PROJECT_ROOT) + "/", "/lib/python3"):
        if marker in where:
            where = where.split(marker, 1)[1]
            break
    return f"{name} ({where})"


def _ours(frame: str) -> bool:
    return any(f"({pkg}/" in frame for pkg in ("atp", "connectors", "flows"))


def stacks(raw: Path) -> Iterator[tuple[list[str], int]]:
    """Each sampled stack of a ``py-spy record -f raw`` file (outermost frame first) and its sample count."""
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            yield [frame for frame in stack.split(";") if frame.strip()], int(count_text)


def summarise(raw: Path, top: int = 12) -> Profile:
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    total = 0
    for stack, count in stacks(raw):
        frames = [_short(f) for f in stack]
        if not frames:
            continue
        total += count
        # Line numbers split one function into many frames: group by function and file.
        functions = [f.rsplit(":", 1)[0] + ")" if ":" in f else f for f in frames]
        own[functions[-1]] += count
        for function in set(functions):
            if _ours(function):
                anywhere[function] += count
    if total == 0:
        return Profile(0, [], [])
    return Profile(
        total,
        [HotSpot(f, n / total) for f, n in own.most_common(top)],
        [HotSpot(f, n / total) for f, n in anywhere.most_common(top)],
    )
