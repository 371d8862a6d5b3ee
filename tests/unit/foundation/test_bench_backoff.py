"""The load driver comes back after a refusal no sooner than told, and later each time."""

from __future__ import annotations

import random

from bench.http import BACKOFF_CAP_S, backoff_s


def test_a_refused_request_waits_at_least_retry_after_and_at_most_the_cap() -> None:
    random.seed(7)
    for attempt in range(10):
        waits = [backoff_s(1.0, attempt) for _ in range(200)]
        assert min(waits) >= 1.0
        assert max(waits) <= 1.0 + min(BACKOFF_CAP_S, 2**attempt)


def test_later_attempts_spread_wider() -> None:
    random.seed(7)
    first = max(backoff_s(1.0, 0) for _ in range(200))
    fifth = max(backoff_s(1.0, 4) for _ in range(200))
    assert first <= 2.0 < fifth
