"""The analyst notebooks' charts: matplotlib on the Agg backend, each returned as a PNG to show.

Agg needs no display, so the same code draws in CI, on a server and on a laptop; a notebook shows
a chart by ending a cell with the :class:`Png` a function here returns (IPython displays anything
with ``_repr_png_``), and the executed notebook keeps it as an ``image/png`` output.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display anywhere this runs

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from atp.analyst_reports import (  # noqa: E402
    AvailabilityPoint,
    ChannelStaleness,
    DeadLetterCount,
    LatencyMinute,
    RiskWindow,
    count_by_minute,
    count_by_reason,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class Png:
    """A rendered chart: IPython shows it, ``save`` writes it (e.g. for the docs)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:  # the text/plain beside the image: stable, no object address
        return f"<chart: PNG, {len(self.data) // 1024} KiB>"

    def save(self, path: str) -> None:
        with open(path, "wb") as out:
            out.write(self.data)


def render(figure: Figure) -> Png:
    """The figure as PNG bytes; the figure is closed (pyplot would otherwise keep every one alive)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return Png(buffer.getvalue())


def _time(epoch_ms: int) -> float:
    """Matplotlib's date number (days) for an epoch time, for a date axis."""
    return float(mdates.date2num(dt.datetime.fromtimestamp(epoch_ms / 1000, dt.UTC)))  # type: ignore[no-untyped-call]


def _time_axis(axes: Axes) -> None:
    locator = mdates.AutoDateLocator(tz=dt.UTC, minticks=3, maxticks=8)  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    # concise: no repeated "10:00" when ticks are seconds apart
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=dt.UTC))  # type: ignore[no-untyped-call]
    axes.set_xlabel("UTC")


def _nothing(axes: Axes, what: str) -> None:
    """An empty store still gives a chart, saying so, rather than a cell that shows nothing."""
    axes.text(0.5, 0.5, f"no {what} in the store", ha="center", va="center", transform=axes.transAxes)


def availability_chart(
    sku: str, location: str, history: Sequence[AvailabilityPoint], windows: Sequence[RiskWindow] = ()
) -> Png:
    """On hand, held, committed and available over time (steps at each record's source time); risk shaded."""
    figure, axes = plt.subplots(figsize=(9, 4))
    if history:
        times = [_time(p.source_ms) for p in history]
        for label, values, style in (
            ("on hand", [p.on_hand for p in history], "-"),
            ("held (reserved)", [p.reserved for p in history], "--"),
            ("committed", [p.committed for p in history], ":"),
            ("available", [p.available for p in history], "-"),
        ):
            axes.step(times, values, where="post", linestyle=style, linewidth=2 if label == "available" else 1.2,
                      label=label)  # fmt: skip
        for index, window in enumerate(windows):
            end_ms = window.end_ms if window.end_ms is not None else window.start_ms + window.duration_ms
            axes.axvspan(_time(window.start_ms), _time(end_ms), color="tab:red", alpha=0.15,
                         label="available 0 with orders open" if index == 0 else None)  # fmt: skip
        axes.legend(loc="upper left", fontsize=8)
        _time_axis(axes)
    else:
        _nothing(axes, "records for this key")
    axes.set_ylabel("units")
    axes.set_title(f"{sku} at {location}")
    return render(figure)


def risk_chart(windows: Sequence[RiskWindow]) -> Png:
    """How long each key was at risk, in total (seconds), longest first."""
    figure, axes = plt.subplots(figsize=(9, 3.5))
    totals: dict[str, float] = {}
    for window in windows:
        key = f"{window.sku} @ {window.location}"
        totals[key] = totals.get(key, 0.0) + window.duration_ms / 1000
    if totals:
        keys = sorted(totals, key=lambda k: -totals[k])[:15]
        axes.barh(keys[::-1], [totals[k] for k in keys[::-1]], color="tab:red")
        axes.set_xlabel("seconds with available 0 while holds or commitments were open")
    else:
        _nothing(axes, "oversell-risk windows")
    axes.set_title("Oversell risk by SKU and location")
    return render(figure)


def staleness_chart(records: Sequence[ChannelStaleness]) -> Png:
    """The distribution of channel staleness, all channels, and per channel side by side."""
    figure, (spread_axes, per_channel) = plt.subplots(1, 2, figsize=(10, 3.5))
    if records:
        spread_axes.hist([r.staleness_ms for r in records], bins=20, color="tab:blue")
        spread_axes.set_xlabel("ms from source commit to channel record")
        spread_axes.set_ylabel("channel records")
        channels = sorted({r.channel for r in records})
        per_channel.boxplot([[r.staleness_ms for r in records if r.channel == c] for c in channels],
                            tick_labels=channels)  # fmt: skip
        per_channel.set_ylabel("ms")
    else:
        _nothing(spread_axes, "channel records")
        _nothing(per_channel, "channel records")
    spread_axes.set_title("Channel staleness")
    per_channel.set_title("per channel")
    return render(figure)


def dead_letter_chart(counts: Sequence[DeadLetterCount]) -> Png:
    """Dead letters by reason, and per minute stacked by source topic."""
    figure, (by_reason, over_time) = plt.subplots(1, 2, figsize=(11, 3.5))
    if counts:
        reasons = count_by_reason(counts)
        by_reason.barh(list(reasons)[::-1], list(reasons.values())[::-1], color="tab:purple")
        by_reason.set_xlabel("dead letters")
        minutes = list(count_by_minute(counts))
        bottom = [0] * len(minutes)
        for topic in sorted({c.source_topic for c in counts}):
            per_minute = {c.minute_ms: 0 for c in counts}
            for c in counts:
                if c.source_topic == topic:
                    per_minute[c.minute_ms] += c.count
            heights = [per_minute[m] for m in minutes]
            over_time.bar([_time(m) for m in minutes], heights, width=1 / 1440 * 0.8, bottom=bottom, label=topic,
                          align="edge")  # fmt: skip
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        over_time.legend(fontsize=8)
        _time_axis(over_time)
    else:
        _nothing(by_reason, "dead letters")
        _nothing(over_time, "dead letters")
    by_reason.set_title("Dead letters by reason")
    over_time.set_title("per minute, by source topic")
    return render(figure)


def latency_chart(minutes: Sequence[LatencyMinute]) -> Png:
    """Per minute: source commit to publish, and publish to load (p50 and p95, ms), and records."""
    figure, (latency, volume) = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True, height_ratios=(3, 1))
    if minutes:
        times = [_time(m.minute_ms) for m in minutes]
        latency.plot(times, [m.publish_p50 for m in minutes], marker="o", label="commit to publish p50")
        latency.plot(times, [m.publish_p95 for m in minutes], marker="o", linestyle="--", label="commit to publish p95")
        latency.plot(times, [m.load_p50 for m in minutes], marker="s", label="publish to store p50")
        latency.plot(times, [m.load_p95 for m in minutes], marker="s", linestyle="--", label="publish to store p95")
        latency.set_ylabel("ms")
        latency.legend(fontsize=8)
        volume.bar(times, [m.records for m in minutes], width=1 / 1440 * 0.8, color="tab:gray", align="edge")
        volume.set_ylabel("records")
        _time_axis(volume)
    else:
        _nothing(latency, "records")
    latency.set_title("Latency and lag per minute of publishing")
    return render(figure)


def why_chart(sku: str, location: str, chain: Sequence[Mapping[str, object]]) -> Png:
    """The walkthrough: ``available`` after each record, and each record's change coloured by its cause."""
    figure, axes = plt.subplots(figsize=(9, 4))
    if chain:
        versions = [int(str(r["version"])) for r in chain]
        changes = [int(str(r["available_change"])) for r in chain]
        causes = [str(r["cause"]) for r in chain]
        palette = {cause: f"C{i % 10}" for i, cause in enumerate(dict.fromkeys(causes))}
        for cause, colour in palette.items():
            picked = [(v, c) for v, c, k in zip(versions, changes, causes, strict=True) if k == cause]
            axes.bar([v for v, _ in picked], [c for _, c in picked], color=colour, alpha=0.6, label=f"change: {cause}")
        axes.step(versions, [int(str(r["available"])) for r in chain], where="mid", color="black", label="available")
        axes.axhline(0, color="grey", linewidth=0.8)
        axes.set_xlabel("version")
        axes.legend(fontsize=8)
    else:
        _nothing(axes, "records for this key")
    axes.set_ylabel("units")
    axes.set_title(f"Why {sku} shows what it shows at {location}")
    return render(figure)
