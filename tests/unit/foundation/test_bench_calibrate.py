"""The benchmark's reference workload (``bench.calibrate``): fixed work, timed in CPU."""

from __future__ import annotations

from bench.calibrate import reference_ms, reference_workload


def test_the_workload_is_the_same_work_every_time() -> None:
    assert reference_workload(50) == reference_workload(50)
    assert reference_workload(50) != reference_workload(51)


def test_its_time_is_reported_in_cpu_milliseconds() -> None:
    assert reference_ms(repeats=1, rounds=20) > 0
