"""Retry policy: bounded attempts, exponential backoff with jitter, permanent errors stop."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from notification.channels import DeliveryError
from notification.retry import CUT_OFF, Attempt, RetryPolicy, SendCutOff, send_with_retries

POLICY = RetryPolicy(max_attempts=5, initial_s=0.5, max_s=3.0, jitter_s=0.25)
NOW = datetime(2026, 11, 26, tzinfo=UTC)


class FlakyChannel:
    """Fails the first ``failures`` sends with the given error, then accepts."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or DeliveryError("HTTP 503")
        self.calls = 0

    async def send(self) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error


class Recorder:
    def __init__(self) -> None:
        self.attempts: list[Attempt] = []
        self.sleeps: list[float] = []

    async def attempt(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


async def run(channel: FlakyChannel, rec: Recorder, already: int = 0):  # type: ignore[no-untyped-def]
    return await send_with_retries(
        channel.send,
        POLICY,
        now=lambda: NOW,
        on_attempt=rec.attempt,
        already_made=already,
        sleep=rec.sleep,
    )


async def test_success_after_two_failures_records_three_attempts() -> None:
    channel, rec = FlakyChannel(2), Recorder()
    outcome = await run(channel, rec)
    assert (outcome.delivered, outcome.attempts, channel.calls) == (True, 3, 3)
    assert [(a.number, a.ok, a.error) for a in rec.attempts] == [
        (1, False, "HTTP 503"),
        (2, False, "HTTP 503"),
        (3, True, None),
    ]
    assert len(rec.sleeps) == 2


async def test_attempts_are_bounded_and_backoff_grows_with_jitter_under_the_cap() -> None:
    channel, rec = FlakyChannel(100), Recorder()
    outcome = await run(channel, rec)
    assert (outcome.delivered, outcome.attempts, channel.calls) == (False, 5, 5)
    assert outcome.error == "HTTP 503"
    assert len(rec.sleeps) == 4  # between attempts only
    for index, delay in enumerate(rec.sleeps):
        base = min(POLICY.initial_s * 2**index, POLICY.max_s)
        assert base <= delay <= min(base + POLICY.jitter_s, POLICY.max_s)
    assert rec.sleeps[-1] == POLICY.max_s  # capped


async def test_permanent_errors_are_not_retried() -> None:
    channel, rec = FlakyChannel(100, DeliveryError("HTTP 401", permanent=True)), Recorder()
    outcome = await run(channel, rec)
    assert (outcome.delivered, outcome.attempts, rec.sleeps) == (False, 1, [])


async def test_unexpected_channel_errors_fail_once_and_are_recorded() -> None:
    channel, rec = FlakyChannel(100, RuntimeError("bug")), Recorder()
    outcome = await run(channel, rec)
    assert (outcome.delivered, outcome.attempts) == (False, 1)
    # Its class and where it was raised, never its message (it may quote the address).
    error = rec.attempts[0].error or ""
    assert error.startswith("channel error: RuntimeError at tests/unit/notification/test_retry")
    assert error.endswith(": message withheld") and "bug" not in error


@pytest.mark.parametrize(("already", "calls"), [(3, 2), (5, 0), (7, 0)])
async def test_a_new_claim_spends_only_what_is_left(already: int, calls: int) -> None:
    channel, rec = FlakyChannel(100), Recorder()
    outcome = await run(channel, rec, already)
    assert channel.calls == calls
    assert outcome.attempts == max(already, 5)
    assert [a.number for a in rec.attempts] == list(range(already + 1, already + calls + 1))


async def test_a_send_cut_off_is_recorded_as_unknown_and_ends_the_delivery() -> None:
    """A stop cut the send short: the channel may have taken it, so it is not a failure
    to retry here, nor a success to prove."""
    channel, rec = FlakyChannel(100, SendCutOff()), Recorder()
    with pytest.raises(SendCutOff):
        await run(channel, rec)
    assert channel.calls == 1 and rec.sleeps == []
    assert [(a.number, a.ok, a.unknown, a.error) for a in rec.attempts] == [
        (1, False, True, CUT_OFF)
    ]


class Lost(Exception):
    """What the caller's check before a retry raises (its claim was lost)."""


async def test_what_the_check_before_a_retry_raises_ends_the_delivery_before_sending() -> None:
    channel, rec = FlakyChannel(100), Recorder()
    checks = 0

    async def before_retry() -> None:
        nonlocal checks
        checks += 1
        if checks == 2:
            raise Lost

    with pytest.raises(Lost):
        await send_with_retries(
            channel.send,
            POLICY,
            now=lambda: NOW,
            on_attempt=rec.attempt,
            sleep=rec.sleep,
            before_retry=before_retry,
        )
    assert channel.calls == 2  # the first send, and the retry the first check let through
    assert [a.number for a in rec.attempts] == [1, 2] and len(rec.sleeps) == 2
