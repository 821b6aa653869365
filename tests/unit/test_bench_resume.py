"""``python -m bench resume`` at a small size: the flow loads every stock balance, is SIGKILLed, and a new process
on the same recovery store publishes a fresh change's record without replaying the load."""

from __future__ import annotations

from bench import resume


def test_a_flow_killed_after_loading_its_stock_resumes_and_publishes_a_fresh_change():
    found = resume.measure(items=40, timeout_s=120, load_epoch_s=0.2)
    demo = resume._demo(40)
    assert found.keys == len(demo.stock_bal) + len(demo.store_stock)  # every stocked item at 2 DCs and 20 stores
    assert found.rss_after_bytes > 0 and found.recovery_bytes > 0
    assert 0 < found.seconds_to_fresh_output < 60


def test_the_last_figures_at_scale_are_read_back_as_measured_with_their_commit(tmp_path):
    from bench.results_json import last_at_scale, merge_at_scale

    out = tmp_path / "results.json"
    assert last_at_scale(out) is None
    found = resume.ResumeAtScale(1_002_012, 452.0, 160 * 2**20, 1_100 * 2**20, 800 * 2**20, 18.5)
    merge_at_scale(found, out)
    read = last_at_scale(out)
    assert read is not None and read[0] == found and read[1].startswith("commit ")
