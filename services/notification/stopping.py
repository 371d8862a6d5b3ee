"""How a stopping dispatcher ends the deliveries in hand without sending one twice.

A delivery whose message went out must have its attempt stored, or the next claimant
(this instance's next life at once) sends it again. So once asked to stop, the
dispatcher starts no send, gives back at once a delivery waiting between attempts (its
attempts are on record), lets a send in flight go on for ``grace_s`` (at least the
channels' timeouts: settings refuse less) and keeps storing attempts and outcomes,
retried while the store is unavailable, until ``budget_s`` after the stop (each try
bounded by what is left). A send still in flight at the end of the grace is cut off: the
channel may or may not have taken the message, so its attempt is stored as ``unknown``
and the record given back (sent again, with the same key, by the next sender). What
cannot be stored within the budget (a store outage that outlasts it) is lost as by
``kill -9``: the message is sent again after the restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pymongo
from pymongo.errors import PyMongoError

from notification.retry import SendCutOff, Sleep
from shared.mongo.errors import store_unavailable

log = logging.getLogger(__name__)
T = TypeVar("T")
FIRST_PAUSE_S, LONGEST_PAUSE_S = 0.5, 5.0  # between tries of a write while the store is away
# A write begun as the budget runs out (a delivery given back as it is cancelled) still
# gets this long; the runtime waits a second more than the budget for the dispatcher.
LAST_TRY_S = 0.5


class Abandoned(Exception):
    """A delivery ends without an outcome: its sender is stopping (``give_back``: the
    record goes back to pending), or its claim was lost (another sender has it)."""

    def __init__(self, reason: str, *, give_back: bool) -> None:
        super().__init__(reason)
        self.give_back = give_back


class StopBudget:
    """When a stopping dispatcher cuts its sends off, and until when it keeps writing."""

    def __init__(self, *, grace_s: float, budget_s: float, sleep: Sleep = asyncio.sleep) -> None:
        self._grace_s = grace_s
        self._budget_s = budget_s
        self._sleep = sleep  # the backoff between attempts (tests pass their own)
        self._asked = asyncio.Event()
        self._cut_off_at: float | None = None  # loop time
        self._deadline: float | None = None  # loop time
        self._sends: set[asyncio.Timeout] = set()  # channel sends in flight

    @property
    def asked(self) -> bool:
        return self._asked.is_set()

    def ask(self) -> None:
        """Stop: the grace and the budget count from now (a second call changes nothing)."""
        if self.asked:
            return
        now = asyncio.get_running_loop().time()
        self._cut_off_at = now + self._grace_s
        self._deadline = now + self._budget_s
        for send in self._sends:
            send.reschedule(self._cut_off_at)
        self._asked.set()

    def left_s(self) -> float | None:
        """Time left to write (None: not stopping)."""
        if self._deadline is None:
            return None
        return max(self._deadline - asyncio.get_running_loop().time(), 0.0)

    async def send(self, send: Callable[[], Awaitable[None]]) -> None:
        """Run one channel send; once stopping, cut it off at the end of the grace
        (``SendCutOff``: it may have gone out)."""
        try:
            async with asyncio.timeout(self._cut_off_at) as cut:
                self._sends.add(cut)
                try:
                    await send()
                finally:
                    self._sends.discard(cut)
        except TimeoutError:
            if cut.expired():
                raise SendCutOff from None
            raise

    async def pause(self, seconds: float) -> None:
        """The backoff before a retry, ended at once by a stop."""
        if self.asked:
            return
        sleeping = asyncio.ensure_future(self._sleep(seconds))
        stopped = asyncio.ensure_future(self._asked.wait())
        try:
            await asyncio.wait({sleeping, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (sleeping, stopped):
                waiting.cancel()
            await asyncio.gather(sleeping, stopped, return_exceptions=True)

    async def until_stored(self, write: Callable[[], Awaitable[T]]) -> T:
        """A write the delivery depends on, retried while the store is unavailable: until
        it is back, or, once stopping, until the budget is spent (each try bounded by
        what is left of it; then the error is raised).

        The delivery stays in hand meanwhile (its lease is renewed once the store is
        back), so what was sent is recorded and proven, never sent a second time.
        """
        pause = FIRST_PAUSE_S
        while True:
            try:
                return await self.bounded(write)
            except PyMongoError as exc:
                left = self.left_s()
                if not store_unavailable(exc) or left == 0.0:
                    raise
                log.warning(
                    "store unavailable: delivery outcome kept until it is back",
                    extra={"stopping": left is not None},
                )
            left = self.left_s()
            await asyncio.sleep(pause if left is None else min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE_S)

    async def bounded(self, write: Callable[[], Awaitable[T]]) -> T:
        """One try of a write; once stopping, bounded by what is left of the budget."""
        left = self.left_s()
        if left is None:
            return await write()
        # Once stopping, no try may outlast the budget (a store away makes each wait for
        # the server selection timeout).
        with pymongo.timeout(max(left, LAST_TRY_S)):
            return await write()
