"""Benchmarks of atp-stream on its own stack (``.atp/bench``, ports 3xxxx): latency, throughput, memory, resume.

``python -m bench short`` prints a table in a few minutes; ``python -m bench long`` writes ``bench/results.md``.
"""
