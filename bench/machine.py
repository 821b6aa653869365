"""What the figures were measured on: cores, memory, CPU model, load."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Machine:
    cores: int
    memory_gib: float
    cpu_model: str
    load_average: tuple[float, float, float]
    python: str

    def describe(self) -> str:
        one, five, fifteen = self.load_average
        return (
            f"{self.cores} cores ({self.cpu_model}), {self.memory_gib:.1f} GiB RAM, Python {self.python}, "
            f"load average {one:.2f} / {five:.2f} / {fifteen:.2f}"
        )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def this_machine() -> Machine:
    return Machine(
        cores=os.cpu_count() or 0,
        memory_gib=_memory_gib(),
        cpu_model=_cpu_model(),
        load_average=os.getloadavg(),
        python=platform.python_version(),
    )
