"""The sizing model's arithmetic, pinned on a small example worked by hand (docs/sizing.md)."""

from __future__ import annotations

import pytest

from bench.sizing import Figures, Workload, figures, main, size


def test_a_small_retailer_needs_three_processes_for_its_rate_and_kafka_disk_breaks_first():
    sizing = size(Workload(skus=1_000, locations=10, channels=2, peak_changes_per_s=7_000, retention_days=30),
                  Figures(events_per_s_per_process=5_000, bytes_per_key=2_000, resume_s_per_million_keys=60,
                          defaulted=()))  # fmt: skip
    # 5,000 events/s x 0.8 scaling x 0.7 utilisation = 2,800 usable per process: 7,000 needs 3
    assert (sizing.processes, sizing.processes_for_cpu, sizing.processes_for_memory) == (3, 3, 1)
    assert sizing.partitions == 6 and sizing.keys == 10_000
    # 300 MiB base + 10,000 / 3 keys x 2,000 bytes
    assert sizing.memory_per_process_bytes == pytest.approx(314_572_800 + 6_666_666.67)
    assert sizing.resume_s == pytest.approx(0.2)
    # 7,000 / 3 average changes/s for a day: 201.6 M history rows, twice that on 2 channels
    assert sizing.history_rows_per_day == pytest.approx(201_600_000)
    assert sizing.channel_rows_per_day == pytest.approx(403_200_000)
    assert sizing.clickhouse_bytes_per_day == pytest.approx(201.6e6 * 60 + 403.2e6 * 40)
    assert sizing.clickhouse_bytes_retained == pytest.approx(28.224e9 * 30)
    assert sizing.kafka_bytes_per_day == pytest.approx(201.6e6 * 1_200 * 3)
    assert sizing.kafka_days_to_full == pytest.approx(300 * 1024**3 / 725.76e9)
    assert sizing.limits[0][0].startswith("Kafka disk")
    assert sizing.limits[0][1] == pytest.approx(30 / (300 * 1024**3 / 725.76e9))


def test_a_figure_the_bench_left_null_is_replaced_by_its_named_default_and_named():
    measured = figures({"throughput_eps_1proc": 6_000.0, "rss_bytes_per_key": None, "resume_s_1m_keys": 12})
    assert measured == Figures(6_000.0, 2_300.0, 12.0, ("rss_bytes_per_key",))


def test_the_report_says_which_defaults_it_used_and_what_breaks_first(capsys, tmp_path):
    results = tmp_path / "results.json"
    results.write_text('{"throughput_eps_1proc": 5000, "rss_bytes_per_key": 2000, "resume_s_1m_keys": null}')
    main(["--skus", "1000", "--locations", "10", "--channels", "2", "--peak-changes-per-s", "7000",
          "--results", str(results)])  # fmt: skip
    out = capsys.readouterr().out
    assert "defaults used (null in bench/results.json): resume_s_1m_keys" in out
    assert "processes: 3 (rate needs 3, memory needs 1)" in out
    assert "breaks first: Kafka disk" in out
