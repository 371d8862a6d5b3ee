"""Bounded retries with exponential backoff and jitter around one channel send (tenacity).

Each attempt is reported to ``on_attempt`` as it ends, so the caller can record it
before the next one starts; a crash mid-way loses no attempt already made, and
``already_made`` lets a new claim spend only what is left of the budget. Before each
retry ``before_retry`` may end the delivery by raising (the caller's claim was lost,
or it is stopping). A send cut off before the channel answered (``SendCutOff``) is
reported as an attempt whose outcome is unknown, and ends the delivery.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from notification.channels import DeliveryError
from notification.delivery_errors import channel_error

Sleep = Callable[[float], Awaitable[None]]
CUT_OFF = "cut off by a stop before the channel answered: it may have taken the message"


class SendCutOff(Exception):
    """The send was stopped before the channel answered: the message may have gone out."""


async def _go_on() -> None:
    return None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    initial_s: float
    max_s: float
    jitter_s: float


@dataclass(frozen=True)
class Attempt:
    """One try: when it ended, whether it worked, and the error if not."""

    number: int
    at: datetime
    ok: bool
    error: str | None = None
    unknown: bool = False  # cut off: the channel may have taken the message (not ``ok``)
    reason: str | None = None  # ``DeliveryError.reason``


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    attempts: int
    error: str | None = None
    reason: str | None = None  # the last attempt's ``DeliveryError.reason``


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryError) and not exc.permanent


async def send_with_retries(
    send: Callable[[], Awaitable[None]],
    policy: RetryPolicy,
    *,
    now: Callable[[], datetime],
    on_attempt: Callable[[Attempt], Awaitable[None]],
    already_made: int = 0,
    sleep: Sleep = asyncio.sleep,
    before_retry: Callable[[], Awaitable[None]] = _go_on,
) -> Outcome:
    """Try ``send`` until it works, fails permanently or the attempts are spent.

    ``before_retry`` runs after each backoff, before the next try; what it raises ends
    the delivery (as does ``SendCutOff``, once its attempt is reported)."""
    remaining = policy.max_attempts - already_made
    if remaining <= 0:
        return Outcome(False, already_made, "no attempts left")
    retrying = AsyncRetrying(
        stop=stop_after_attempt(remaining),
        wait=wait_exponential_jitter(
            multiplier=policy.initial_s, max=policy.max_s, jitter=policy.jitter_s
        ),
        retry=retry_if_exception(_retryable),
        sleep=sleep,
        reraise=True,
    )
    number = already_made
    try:
        async for attempt in retrying:
            if number > already_made:
                await before_retry()
            with attempt:
                number += 1
                try:
                    await send()
                except SendCutOff:
                    await on_attempt(Attempt(number, now(), False, CUT_OFF, unknown=True))
                    raise
                except DeliveryError as exc:
                    await on_attempt(Attempt(number, now(), False, str(exc), reason=exc.reason))
                    raise
                except Exception as exc:  # a channel bug: retrying the same input cannot help
                    # Its class and where, not its message (it may quote the address).
                    error = DeliveryError(channel_error(exc), permanent=True)
                    await on_attempt(Attempt(number, now(), False, str(error)))
                    raise error from exc
                await on_attempt(Attempt(number, now(), True))
    except DeliveryError as exc:
        return Outcome(False, number, str(exc), exc.reason)
    return Outcome(True, number)
