"""Percentiles and medians of measured samples (nearest-rank, no interpolation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(samples: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``share`` of the samples at or below it."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return percentile(samples, 0.5)


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @staticmethod
    def of(latencies_ms: Sequence[float]) -> LatencySummary:
        return LatencySummary(
            count=len(latencies_ms),
            p50_ms=percentile(latencies_ms, 0.50),
            p95_ms=percentile(latencies_ms, 0.95),
            p99_ms=percentile(latencies_ms, 0.99),
            max_ms=max(latencies_ms) if latencies_ms else math.nan,
        )
