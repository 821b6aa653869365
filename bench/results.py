"""``bench/results.md``: every figure with the machine, the data size, the rate and how it was obtained."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from bench import report
from bench.epoch_cost import FIT_FAST, FIT_SLOW, KEYS_PER_EPOCH, STEP_IDS
from bench.epoch_cost import describe as describe_epoch_cost
from bench.findings import (
    TARGET_BYTES_PER_KEY,
    TARGET_CHANNEL_P99_MS,
    TARGET_CPU_RATIO_2PROC,
    TARGET_EVENTS_PER_WORKER,
    TARGET_RESUME_S,
    Findings,
    summary_table,
)
from bench.latency import LatencyRun
from bench.resume import LOAD_EPOCH_S
from bench.stages import STAGES_BEFORE, comparison_table, load_baseline
from bench.stats import LatencySummary, median
from bench.throughput import HOT_SHARE, LIVE_SIZE


def _throughput_section(findings: Findings) -> list[str]:
    lines = ["## b. Dataflow throughput (pre-filled input topics, no Debezium)", ""]
    if findings.workload:
        lines += [f"Inputs: {findings.workload.describe()}.", ""]
    rows = []
    for processes, runs in sorted(findings.throughput.items()):
        for n, run in enumerate(runs, 1):
            t = run.result
            rows.append([
                str(processes), str(n), f"{t.events:,}", f"{t.steady_rate:,.0f}", f"{t.wall_rate:,.0f}",
                f"{t.wall_s:,.1f}", f"{run.outputs:,}", f"{t.peak_rss_bytes / 2**20:,.0f}",
                f"{t.steady_cpu_s:,.1f}", f"{t.cpu_per_kevent_s:.3f}",
            ])  # fmt: skip
    if rows:
        lines.append(
            report.table(
                [
                    "processes",
                    "run",
                    "input events",
                    "events/s (steady)",
                    "events/s (from start)",
                    "seconds",
                    "records out",
                    "peak RSS MiB (sum)",
                    "CPU s (steady, sum)",
                    "CPU s per 1,000 events",
                ],
                rows,
            )  # fmt: skip
        )
        lines.append("")
        one = findings.throughput.get(1, [])
        two = findings.throughput.get(2, [])
        if one:
            lines.append(f"Median, 1 process: {median([r.result.steady_rate for r in one]):,.0f} events/s "
                         f"(target >= {TARGET_EVENTS_PER_WORKER:,.0f} per process).")  # fmt: skip
        if one and two:
            ratio = median([r.result.steady_rate for r in two]) / median([r.result.steady_rate for r in one])
            two_rate = median([r.result.steady_rate for r in two])
            lines.append(
                f"Median, 2 processes: {two_rate:,.0f} events/s ({ratio:.2f}x one process, "
                "on 2 cores shared with Kafka, Connect and the registry)."
            )
    lines += [
        "",
        "How: the input topics (the 11 Debezium change topics and `orders.reservations`, 4 partitions each) "
        "are emptied and pre-filled with Debezium-shaped JSON (`bench/shapes.py`, `bench/traffic.py`); each "
        "run starts the dataflow from a fresh recovery store (1 s epochs, as `atp run`) and reads how far it "
        "has got from its recovery store (`connectors.lag.flow_positions` on a byte copy of the files) every "
        "0.5 s. *Steady* = messages read between the first snapshot that shows progress and the one that "
        "shows everything read, over that time (start-up excluded; +-1 epoch). *From start* includes process "
        "start-up (imports, registry look-ups, Kafka metadata). 2 processes = a Bytewax cluster "
        "(`-i 0/1 -a 127.0.0.1:32101;127.0.0.1:32102`) on the same recovery store. *CPU* = user + system "
        "time of every flow process (`psutil`, from `/proc/<pid>/stat`) over the steady interval, divided by "
        "the events read in it: the cost of an event whatever the cores do meanwhile (target: 2 processes "
        f"<= {TARGET_CPU_RATIO_2PROC:.1f}x the CPU per event of 1).",
        "",
    ]
    return lines


def _profile_section(findings: Findings) -> list[str]:
    lines = ["## e. Profile of the dataflow (py-spy, 1 process, during a throughput run)", ""]
    profile = findings.profile
    if profile is None:
        return [*lines, "Not measured (see Missing).", ""]
    lines += [f"{profile.samples:,} samples at 50 Hz over 30 s, from 8 s after start.", "",
              "Self time (the frame on top of the stack):", ""]  # fmt: skip
    lines.append(report.table(["share", "function"], [[f"{h.share:.1%}", f"`{h.frame}`"] for h in profile.self_time]))
    lines += ["", "Inclusive time, our code (anywhere on the stack):", ""]
    lines.append(report.table(["share", "function"], [[f"{h.share:.1%}", f"`{h.frame}`"] for h in profile.inclusive]))
    lines.append("")
    return lines


def _memory_section(findings: Findings) -> list[str]:
    lines = ["## c, d. Memory per key, recovery size, resume after SIGKILL", ""]
    m, size = findings.memory, findings.memory_size
    if m is None or size is None:
        return [*lines, "Not measured (see Missing).", ""]
    lines += [
        f"Data: {size.items:,} items, {size.dcs} DCs + {size.stores} stores, every stocked item at every "
        f"location: {m.keys_offered:,} SKU-location stock balances offered, {m.keys_loaded:,} read when "
        "RSS was taken.",
        "",
        report.table(
            ["figure", "value"],
            [
                ["RSS before the stock (reference data only)", f"{m.rss_before_bytes / 2**20:,.1f} MiB"],
                ["RSS after the stock", f"{m.rss_after_bytes / 2**20:,.1f} MiB"],
                ["RSS per SKU-location key", f"{m.bytes_per_key:,.0f} bytes (target < {TARGET_BYTES_PER_KEY:.0f})"],
                ["extrapolated to 1M keys", f"{m.bytes_per_key * 1e6 / 2**30:,.2f} GiB"],
                [
                    "recovery store on disk (`du`)",
                    f"{m.recovery_bytes / 2**20:,.1f} MiB "
                    f"({m.recovery_bytes / max(1, m.keys_loaded):,.0f} bytes per key)",
                ],
                ["stock balances read per second", f"{m.load_rate:,.0f}"],
            ],
        ),  # fmt: skip
        "",
    ]
    if m.died:
        lines += [f"**The flow died while loading**: {m.died}. Figures are from the last sample before.", ""]
    r = findings.resume
    if r is not None:
        lines += [
            f"Resume after SIGKILL with {r.keys:,} keys in state: **{r.seconds_to_fresh_output:.1f} s** from "
            "starting the new process on the same recovery store to the `atp.availability` record of a fresh "
            f"STOCK_BAL change written right after the start (target < {TARGET_RESUME_S:.0f} s with 1M keys; "
            "measured with fewer keys, see Missing).",
            "",
        ]
    lines += [
        "How: one flow process reads the reference data (locations, items, listings, kits, lots, POs, safety "
        "stock), RSS is taken (median of 4 s of samples), then every stock balance (ERP STOCK_BAL, POS "
        "store_stock) is pre-filled and read; after two more epochs RSS is taken again. RSS per key = the "
        "difference / keys. It includes everything the keys cost the process: the per-SKU state of "
        "`availability`, `resolve_upc`, the channel steps, Python allocator slack and librdkafka buffers.",
        "",
    ]
    return lines


def _at_scale_section(findings: Findings) -> list[str]:
    lines = ["## c, d at 1M keys: RSS per key and resume after SIGKILL, in process", ""]
    found = findings.at_scale
    if found is None:
        return [*lines, "Not measured (see Missing).", ""]
    return [
        *lines,
        report.table(
            ["figure", "value"],
            [
                ["SKU-location keys in state", f"{found.keys:,}"],
                ["loading them (in process, recovery on)", f"{found.load_seconds:,.0f} s"],
                ["RSS per key", f"{found.bytes_per_key:,.0f} bytes (target <= {TARGET_BYTES_PER_KEY:.0f})"],
                [
                    "RSS before / after the stock",
                    f"{found.rss_before_bytes / 2**20:,.0f} / {found.rss_after_bytes / 2**20:,.0f} MiB",
                ],
                ["recovery store on disk (`du`)", f"{found.recovery_bytes / 2**20:,.0f} MiB"],
                [
                    "resume after SIGKILL to the fresh change's record",
                    f"**{found.seconds_to_fresh_output:.1f} s** (target <= {TARGET_RESUME_S:.0f} s)",
                ],
            ],
        ),  # fmt: skip
        "",
        *(
            [f"Measured by the last `python -m bench resume` ({findings.at_scale_from}), not by this run.", ""]
            if findings.at_scale_from
            else []
        ),
        "How (`python -m bench resume`): the real dataflow (recovery on) in a child process over Bytewax's testing "
        "source: the demo retailer's reference data, then every stock balance (ERP STOCK_BAL at 2 DCs, POS "
        "store_stock at 20 stores, every item everywhere), generated lazily. The load runs with "
        f"{LOAD_EPOCH_S:.0f} s epochs (at 0.2 s each epoch re-snapshots every location-keyed state, and the load "
        "takes well over half an hour; the keys in the store are the same); loading time includes three epochs of "
        "waiting for the outputs to stop. RSS is taken in the child before and after the stock, each once its "
        "outputs have stopped. The resumed process runs at the configured epoch. The child "
        "is then SIGKILLed; a new one starts on the same store at the saved source position, reads one fresh "
        "STOCK_BAL change, and the figure runs from starting that process to the change's availability record in "
        "its sink (interpreter start, imports, Bytewax restoring every key, the change itself). No Kafka: "
        "connecting to the brokers and the registry is not in it (the Kafka resume above is, with fewer keys).",
        "",
    ]


def _latency_section(findings: Findings) -> list[str]:
    lines = ["## a. Source commit -> output record latency (through Debezium)", ""]
    if not findings.live:
        return [*lines, "Not measured (see Missing).", ""]
    lines += [
        f"Data: the demo retailer seeded in the bench's ERP and POS ({LIVE_SIZE.items:,} items, {LIVE_SIZE.dcs} DCs, "
        f"{LIVE_SIZE.stores} stores); changes on a hot {HOT_SHARE:.0%} of the sellable SKUs: 40% ERP STOCK_BAL "
        "updates at a DC, 30% POS store_stock updates, 15% POS till sales (ticket + line + shelf in one "
        "transaction), 15% cart HOLDs on `orders.reservations`; 8 writer threads, each with its own ERP and POS "
        "connection.",
        "",
    ]
    rows = []
    for run in [*findings.live, *([findings.fastest] if findings.fastest else [])]:
        target = f"{run.target_rate:,.0f}" if run.target_rate else "max"
        rows.append([
            target, f"{run.load.achieved_rate:,.0f}", f"{len(run.load.writes):,}",
            f"{run.availability.p50_ms:,.0f} / {run.availability.p95_ms:,.0f} / {run.availability.p99_ms:,.0f} / "
            f"{run.availability.max_ms:,.0f}",
            f"{run.channel.p50_ms:,.0f} / {run.channel.p95_ms:,.0f} / {run.channel.p99_ms:,.0f} / "
            f"{run.channel.max_ms:,.0f}",
            f"{run.unmatched_availability:,} / {run.unmatched_channel:,}",
            f"{run.first_fifth_p50_ms:,.0f} -> {run.last_fifth_p50_ms:,.0f}",
            "yes" if run.sustained else "no",
            f"{run.end_to_end_rate:,.0f}",
        ])  # fmt: skip
    lines.append(
        report.table(
            [
                "target /s",
                "achieved /s",
                "writes",
                "-> atp.availability p50/p95/p99/max ms",
                "-> atp.channel.shopify p50/p95/p99/max ms",
                "unmatched (avail / channel)",
                "p50 first -> last fifth ms",
                "sustained",
                "records-out rate /s",
            ],
            rows,
        )  # fmt: skip
    )
    lines += [
        "",
        "Targets: p99 commit -> channel topic "
        + " and ".join(f"<= {ms:.0f} ms at {rate:,.0f} changes/s" for rate, ms in sorted(TARGET_CHANNEL_P99_MS.items()))
        + ".",
        "",
        "Where the time goes, per run: commit -> Debezium's change record on Kafka (stock writes, matched by "
        "their marker on `erp.erp.STOCK_BAL` / `pos.public.store_stock`), and commit -> `atp.availability` "
        "by kind of change (p50 / p99 ms):",
        "",
        report.table(
            [
                "target /s",
                "commit -> Debezium record (DC / store)",
                "DC stock",
                "store stock",
                "till sale",
                "cart hold",
            ],
            [_stage_row(run) for run in [*findings.live, *([findings.fastest] if findings.fastest else [])]],
        ),  # fmt: skip
        "",
        "How: each write keeps the wall-clock time right after its COMMIT returned (a cart hold: when Kafka "
        "acknowledged it). A separate recorder process reads `atp.availability` and `atp.channel.shopify` from "
        "their ends and stamps each record's arrival. A DC or store stock write sets a unique on-hand and is "
        "matched to the first `atp.availability` record of its `SKU@LOC` carrying it; a till sale or a hold to "
        "the first record of its key after its commit. Channel: every write at a location Shopify fulfils from "
        "(DCs, ship-from stores) is matched to the first record of its channel SKU after its commit. "
        "Only the stock writes are matched exactly (by marker); with a hot set, the first record after a "
        "till sale, a hold or any channel record may stem from an earlier write of the same key, so those "
        "figures can read low: the DC and store stock columns of the table below are the exact ones. "
        "*Sustained* = the writers kept >= 95% of the target rate and the median latency of the last fifth of "
        "the run is no more than twice (+100 ms) that of the first fifth. The flow's state was loaded from a "
        "Debezium-shaped snapshot of the seeded data (older source positions) so a run does not depend on "
        "Debezium's one-off initial snapshot; every measured change went through MariaDB/PostgreSQL and "
        "Debezium (or Kafka for holds). *Records-out rate* = matched writes / (first commit -> last matched "
        "record): the whole path's rate.",
        "",
    ]
    return lines


def _p50_p99(summary: LatencySummary | None) -> str:
    if summary is None or summary.count == 0:
        return "n/a"
    return f"{summary.p50_ms:,.0f} / {summary.p99_ms:,.0f}"


def _stage_row(run: LatencyRun) -> list[str]:
    target = f"{run.target_rate:,.0f}" if run.target_rate else "max"
    cdc = f"{_p50_p99(run.to_debezium.get('dc_stock'))} ; {_p50_p99(run.to_debezium.get('store_stock'))}"
    kinds = [_p50_p99(run.availability_by_kind.get(k)) for k in ("dc_stock", "store_stock", "till_sale", "cart_hold")]
    return [target, cdc, *kinds]


def _snapshot_section(findings: Findings) -> list[str]:
    if not findings.snapshot_costs:
        return []
    return [
        "## The bottleneck: every epoch deep-copies each touched key's whole state",
        "",
        "`flows.availability.KeyedLogic.snapshot` returns `copy.deepcopy(state)` for every key touched in the "
        "epoch (1 s). `channel_locations` is keyed by *location* and its `LocationBook` holds one entry per SKU "
        "stocked there, so any change at a location copies the whole book; with changes at all 22 locations "
        "every second, the flow copies every location's book every second, however few changes there were. "
        "Cost of one such copy on this machine (`bench/snapshot_cost.py`, the real class):",
        "",
        report.table(
            ["SKUs at the location", "deepcopy ms", "pickle round trip ms", "x 22 locations, ms per epoch"],
            [
                [f"{c.skus:,}", f"{c.deepcopy_ms:,.1f}", f"{c.pickle_round_trip_ms:,.1f}", f"{22 * c.deepcopy_ms:,.0f}"]
                for c in findings.snapshot_costs
            ],
        ),
        "",
        "Bytewax then pickles each snapshot into SQLite as well. At the live size (about 2,000 SKUs per "
        "location) that is most of a second of CPU in every 1 s epoch, before the epoch's outputs are flushed, "
        "whatever the rate: it is the floor under every latency in (a), where Debezium's own leg (commit -> "
        "change record on Kafka) is well under 100 ms p50 and the flow adds a second or more. It is also why "
        "throughput per process is about a thousand events per second, and why loading stock slows as the "
        "location books grow; with 1M keys (50,000 SKUs per location) one epoch would cost tens of seconds. "
        "Ways out (for `flows/` and `atp/domain/`, not done here): key the channel-location stamp by "
        "SKU-location (or keep only the location's ship-from flag there and join it in `channel_sums`); make "
        "snapshots cheap (immutable state values and a shallow copy, or a persistent map); snapshot less "
        "often (`ATP_SNAPSHOT_INTERVAL_S`) at the price of a longer replay after a crash.",
        "",
    ]


def _peer_section(findings: Findings) -> list[str]:
    f = findings.peer
    if f is None:
        return ["## f. Quix Streams peer", "", "Not measured in this run (see Missing).", ""]
    return [
        "## f. Quix Streams peer",
        "",
        f"The peer (`bench/quix_peer/`, Quix Streams with RocksDB state and re-keying through Kafka topics, our "
        f"decoders and state classes unchanged) and our flow (`python -m flows.run`, "
        f"Kafka source, Avro sink through the registry, recovery on, one process) read the same "
        f"{f.inputs:,} pre-filled inputs (2,000 items x 10 locations, 60,000 changes) one after the other on the "
        f"peer's own broker, after the bench stack was stopped. The final record of each of the {f.keys:,} "
        f"`sku@location` keys was compared: {f.mismatched_keys} differ. What the peer covers and how it is "
        "built: `bench/quix_peer/RESULTS.md`.",
        "",
        report.table(
            ["engine", "events/s"],
            [
                ["ours, over Kafka (the figure compared)", report.fmt(f.ours_kafka_events_per_s)],
                ["ours, in-process (no Kafka, no Avro, no recovery)", report.fmt(f.ours_inprocess_events_per_s)],
                ["the peer (one dataframe per input topic, its fastest mode)", report.fmt(f.peer_events_per_s)],
            ],
        ),
        "",
        f"Ours over Kafka / the peer: **{f.ratio:.2f}x** (target: ahead of the peer, above 1x).",
        "",
        "Live, each engine on the same paced changes written to its inputs (input written -> record computed; "
        "each engine alone on the broker in turn, 30 s after a 45 s catch-up):",
        "",
        report.table(
            ["changes/s", "engine", "records", "p50 / p95 / p99 / max ms"],
            [
                [
                    f"{r.rate:,.0f}",
                    r.engine,
                    f"{r.records:,}",
                    " / ".join(report.fmt(ms) for ms in (r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms)),
                ]
                for r in f.live
            ],  # fmt: skip
        ),
        "",
    ]


def _known_gaps(findings: Findings) -> list[str]:
    gaps = []
    m = findings.memory
    if m is not None and m.keys_loaded < 900_000:
        gaps.append(
            f"- c, d at 1M keys: measured with {m.keys_loaded:,} keys. The flow read stock balances at about "
            f"{m.load_rate:,.0f}/s here, so 1M keys would take {1e6 / max(m.load_rate, 1) / 60:,.0f} minutes or "
            "more of loading (the rate falls as state grows). RSS per key is extrapolated linearly above; the "
            "resume time is not extrapolated"
            + ("; both are measured in process at that size below." if findings.at_scale else ".")
        )
    for run in findings.live:
        if run.target_rate and run.load.achieved_rate < 0.95 * run.target_rate:
            gaps.append(
                f"- {run.target_rate:,.0f} changes/s: the 8 writers achieved {run.load.achieved_rate:,.0f}/s (the "
                "load driver, the databases, Debezium, Kafka and the flow share 2 cores)."
            )
    sustained = [r for r in findings.live if r.sustained and r.target_rate]
    paced = [r for r in findings.live if r.target_rate]
    top = max(paced, key=lambda r: r.target_rate or 0.0) if paced else None
    if top is not None and not top.sustained:
        best = max((r.target_rate or 0.0 for r in sustained), default=0.0)
        gaps.append(
            f"- {top.target_rate:,.0f} changes/s through Debezium was not sustained; the highest rate tried that was: "
            f"{best:,.0f}/s (rates tried: {', '.join(f'{r.target_rate:,.0f}' for r in findings.live)})."
            if best
            else "- no rate tried was sustained."
        )
    return gaps


def _stages_section(findings: Findings, before: Path = STAGES_BEFORE) -> list[str]:
    if findings.inprocess is None:
        return []
    now = findings.inprocess
    baseline = load_baseline(before)
    lines = [
        "## h. Where an input event's time goes, by stage (in process, recovery on)",
        "",
        "`python -m bench.stages --recovery`: the flow in one process over Bytewax's testing source of the "
        "throughput workload (no Kafka, no Avro), sampled by py-spy; each sample is put down to the innermost "
        "frame that names a stage. Time per input event = the stage's share of samples x wall time / events.",
        "",
    ]
    if baseline is None:
        return [*lines, now.table(), ""]
    return [
        *lines,
        f"Before: the same measurement in the long run on {baseline.commit[:7]} ({baseline.date}), kept in "
        f"`bench/runs/{before.name}`; now: {now.summary()}.",
        "",
        comparison_table(now, baseline),
        "",
    ]


def _epoch_cost_section(findings: Findings) -> list[str]:
    lines = ["## i. What an epoch close costs (recovery)", ""]
    found = findings.epoch_cost
    if found is None:
        return [*lines, "Not measured (see Missing).", ""]
    return [
        *lines,
        *describe_epoch_cost(found),
        "",
        "How (`python -m bench.epoch_cost`): at every epoch close, for each recovery partition, Bytewax 0.21.1 "
        "(`src/recovery.rs`, `RecoveryCommitter::commit`) records the epoch and deletes the snapshots it "
        "supersedes with one statement that groups every row of the partition's `snaps` table, however few keys "
        "changed. The first table runs the same SQL on a partition made by Bytewax "
        "(`bytewax.recovery.init_db_dir`: its DDL, WAL mode) filled with one snapshot per key over "
        f"{STEP_IDS} step ids: per epoch, {KEYS_PER_EPOCH} keys' snapshots are written at the new epoch in one "
        "transaction, then the commit and the GC in another; the median epoch. The second table runs the flow "
        "over Bytewax's testing source on the throughput workload (as section h, without py-spy), each "
        "configuration in a child process of its own, one after the other; CPU is the child's. The fixed cost "
        "of a close is a two-point fit, T = W + E x c with E = T / epoch, over the 8-partition runs at "
        f"{FIT_FAST.epoch_s:g} s and {FIT_SLOW.epoch_s:g} s: two runs, no error bars. The store table counts the "
        f"`snaps` rows of the {FIT_FAST.label} run by step, over its partition files, after the run.",
        "",
    ]


def _api_section(findings: Findings) -> list[str]:
    if findings.api is None:
        return []
    from bench.api_load import describe

    return [
        "## Lookup API (in process)",
        "",
        "`python -m bench.api_load`: the API server in the bench's process over a read model filled directly, a "
        "client in a child process on a fixed schedule over keep-alive connections; latency from each request's "
        "scheduled time to the end of its answer.",
        "",
        "```",
        *describe(findings.api),
        "```",
        "",
    ]


def _missed_targets_section(findings: Findings) -> list[str]:
    from bench.target_reasons import missed_targets

    try:
        return missed_targets(findings)
    except Exception as error:  # a long run's figures are worth more than this section: write them regardless
        findings.missing.append(f"the targets-missed section could not be written: {type(error).__name__}: {error}")
        return []


def write_results(findings: Findings, out: Path) -> None:
    machine = findings.machine
    one, five, fifteen = findings.load_after
    lines = [
        "# atp-stream benchmark results",
        "",
        f"Measured {findings.started} by `.venv/bin/python -m bench long` (written "
        f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}).",
        "",
        f"Machine: {machine.describe()} at the start; load average {one:.2f} / {five:.2f} / {fifteen:.2f} at the "
        "end. Everything ran on this one machine: Kafka (KRaft), Kafka Connect + Debezium, the schema "
        "registry, MariaDB, PostgreSQL, the dataflow, the load driver and the recorder share its 2 cores, and "
        "other work may share them too (the load averages above say how busy they were), so CPU is noisy: "
        "throughput figures are medians of repeated runs.",
        "",
        f"Code measured: {os.environ.get('ATP_BENCH_CODE', 'the working tree at the time (not pinned)')}.",
        "",
        "The bench runs its own stack (`ATP_HOME=.atp/bench`, ports 3xxxx) and the dataflow as `atp run` "
        "starts it (`python -m flows.run`, recovery on, the configured epoch).",
        "",
        "## Summary",
        "",
        summary_table(findings),
        "",
        *_snapshot_section(findings),
        *_latency_section(findings),
        *_throughput_section(findings),
        *_memory_section(findings),
        *_at_scale_section(findings),
        *_profile_section(findings),
        *_stages_section(findings),
        *_epoch_cost_section(findings),
        *_peer_section(findings),
        *_api_section(findings),
        *_missed_targets_section(findings),
        "## Missing",
        "",
        *[f"- {line}" for line in findings.missing],
        *_known_gaps(findings),
        "",
    ]
    out.write_text("\n".join(lines))
