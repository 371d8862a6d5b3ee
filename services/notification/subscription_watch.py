"""The live subscriptions, kept in memory while a change stream says what changed.

The consumer's screen needs the live subscriptions for every fetched run (which facts
may interest a subscriber, and whom to tell): reading them each time cost a query per
run, about one per journey in the benchmark, for a collection that changes when an
administrator or an agency subscribes, pauses or resumes. This worker opens a change
stream on ``subscriptions`` first, then reads the live ones, and reads them again
after every change the stream reports (whichever instance made it): no change is
missed between the reading and the stream; one the store closes is opened again, as
after an error. Changes that cannot alter which
subscriptions are live or what they want (a delivery's success or failure counted)
are passed over. While the stream is not open (not yet, or after an error, until it
is reopened with backoff), or a change is being read, ``current`` is None and the
screen reads the subscriptions itself, as before. A subscription created, deleted or
resumed through this instance takes effect at once (``invalidate``: only a reading
begun afterwards is kept, and the worker reads again within ``AWAIT_MS`` even when the
stream reported the change, and was read, before the writer invalidated); one changed
through another instance, once its change has come through the stream (milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionView

log = logging.getLogger(__name__)
AWAIT_MS = 1000  # how long one getMore waits for a change (one round trip a second idle)
# What a subscription view is made of (``NotificationStore.live_subscriptions``).
VIEWED = frozenset({"status", "url", "event_types", "units"})


class StreamClosed(Exception):
    """The store ended the change stream (a cursor it closed): opened again with backoff."""


class SubscriptionWatch:
    """A worker keeping ``current``: the live subscriptions, or None when not watched."""

    def __init__(self, store: NotificationStore, backoff_max_s: float = 30.0) -> None:
        self._store = store
        self._backoff_max_s = backoff_max_s
        self._current: list[SubscriptionView] | None = None
        self._generation = 0  # moved on by every change: an older reading is not kept
        self._opened = False  # the last stream opened (then a failure retries at once)
        self._stopping = asyncio.Event()

    @property
    def name(self) -> str:
        return "notification-subscription-watch"

    @property
    def current(self) -> list[SubscriptionView] | None:
        """The live subscriptions as of the last change seen; None: read them yourself."""
        return self._current

    def invalidate(self) -> None:
        """A change of the live subscriptions was written: forget the reading, and keep
        only one begun from now on."""
        self._generation += 1
        self._current = None

    async def start(self) -> None:
        return None

    def stop(self) -> None:
        self._stopping.set()

    async def close(self) -> None:
        return None

    async def run(self) -> None:
        """Watch until stopped; an error drops the reading and reopens the stream later."""
        pause = 0.5
        while not self._stopping.is_set():
            self._opened = False
            watching = asyncio.create_task(self._watch(), name="notification-subscriptions")
            stopping = asyncio.create_task(self._stopping.wait())
            try:
                await asyncio.wait({watching, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._current = None
                for task in (watching, stopping):
                    task.cancel()
                await asyncio.gather(watching, stopping, return_exceptions=True)
            if self._opened:
                pause = 0.5
            if watching.done() and not watching.cancelled() and watching.exception():
                log.warning(
                    "subscriptions change stream failed; the screen reads them meanwhile",
                    extra={"error": repr(watching.exception()), "retry_in_s": pause},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=pause)
                pause = min(pause * 2, self._backoff_max_s)

    async def _watch(self) -> None:
        collection = self._store.subscriptions
        async with await collection.watch(max_await_time_ms=AWAIT_MS) as stream:
            self._opened = True
            await self._read()  # after the opening: no change is missed in between
            # A stream the store closed answers None at once, forever, without a round
            # trip: left to loop, it would hold the event loop.
            while stream.alive:
                change = await stream.try_next()
                if change is not None and _alters_views(change):
                    self.invalidate()  # the screen reads them itself meanwhile
                if self._current is None:  # a change, or an invalidate from this instance
                    await self._read()
        raise StreamClosed("the store closed the subscriptions change stream")

    async def _read(self) -> None:
        generation = self._generation
        live = await self._store.live_subscriptions(None)
        if generation == self._generation:  # else a change came meanwhile: its reading follows
            self._current = live


def _alters_views(change: Mapping[str, Any]) -> bool:
    """Whether a change may alter the live subscriptions' views (an update of other
    fields, such as a delivery counted, does not)."""
    if change.get("operationType") != "update":
        return True
    description = change.get("updateDescription") or {}
    fields = [*(description.get("updatedFields") or {}), *(description.get("removedFields") or [])]
    return any(field.split(".")[0] in VIEWED for field in fields)
