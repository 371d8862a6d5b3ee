"""Benchmarks (``make bench``): throughput, latency and memory against the real stack."""
