"""The live subscriptions as the consumer's handler sees them, and the screen that passes
over the events nobody is told of before any unit of work.

Most facts concern nobody but the subscribers that want them (a step completed, a
hand-over accepted, the service's own ``notification.sent.v1``): the registry's screen
(``LiveSubscriptions.screen``) takes the live subscriptions once per fetched run (as
``subscription_watch`` keeps them, else with one query), before its unit of work, and
passes over the events nobody is told of, so they cost no transaction and no inbox
record; the run's handler uses that same reading.
"""

from __future__ import annotations

from collections.abc import Callable

from notification.domain import forwardable, handled_event_types, may_notify
from notification.store import NotificationStore
from notification.subscription_rules import SubscriptionView
from shared.envelope import Envelope
from shared.events.applicant import ApplicantContactRegistered
from shared.events.registry import EventData
from shared.mongo.client import Session

RECORDED_TYPES = frozenset(handled_event_types())  # what ``record_notifications`` handles


class LiveSubscriptions:
    """The live subscriptions as a fetched run sees them: as watched (``known``, see
    ``subscription_watch``), else read once, before its unit of work, by the screen; and
    used by its handler (read in the handler's transaction for events the screen did not
    see, e.g. in unit tests)."""

    def __init__(
        self,
        store: NotificationStore,
        known: Callable[[], list[SubscriptionView] | None] = lambda: None,
    ) -> None:
        self._store = store
        self._known = known
        self._screened: set[str] = set()  # event ids of the last screened run
        self._read: list[SubscriptionView] = []

    async def screen(self, events: list[tuple[Envelope, EventData]]) -> list[bool]:
        """Which events may notify someone (the others change nothing: no transaction)."""
        self._screened = set()
        self._read = await self._live() if any(subscribable(data) for _, data in events) else []
        self._screened = {envelope.id for envelope, _ in events}
        return [
            envelope.type not in RECORDED_TYPES or may_notify(envelope.type, data, self._read)
            for envelope, data in events
        ]

    async def _live(self) -> list[SubscriptionView]:
        known = self._known()
        return known if known is not None else await self._store.live_subscriptions(None)

    async def of(
        self, events: list[tuple[Envelope, EventData]], session: Session
    ) -> list[SubscriptionView]:
        """The subscriptions these events are planned against."""
        if all(envelope.id in self._screened for envelope, _ in events):
            return self._read
        return await self._store.live_subscriptions(session)


def subscribable(data: EventData) -> bool:
    """Whether a subscriber may get the event (never a contact registration, nor the
    outcome of a webhook delivery): otherwise no subscription needs reading for it."""
    return forwardable(data) and not isinstance(data, ApplicantContactRegistered)
