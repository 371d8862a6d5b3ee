"""Who is told what, and when: the pure rules of the notification service (no I/O).

An event is turned into planned notifications, one per (recipient, channel):
applicants on the steps that concern them, units that must act, and agency
systems subscribed to the event type (and units). Which subscription wants what, when a
failing subscriber is paused and what one may subscribe to: ``subscription_rules``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from notification.privacy import contact_ref, mask_address
from notification.subscription_rules import (
    SUBSCRIBABLE_PREFIXES,
    SubscriptionStatus,
    SubscriptionView,
    subscription_matches,
)
from shared.events.applicant import ApplicantContactRegistered, ContactDetails
from shared.events.closing import DossierStopped, ResultReady
from shared.events.deadlines import ApologyIssued, DossierOverdue, StepDueSoon, StepOverdue
from shared.events.dossier import ApplicantContact, Channel, Language
from shared.events.handover import TransferRequested
from shared.events.notification import NotificationOutcome
from shared.events.pauses import PaymentRequested, SupplementRequested
from shared.events.reception import (
    DossierDenied,
    DossierDeniedV1,
    DossierReceived,
    DossierReceivedV1,
    DossierSubmittedV1,
    IntakeSupplementRequested,
)
from shared.events.registry import REGISTRY, EventData

# What the applicant is told about (issues 6, 12): reception, a supplement asked for (by the
# desk before reception, Mẫu 02, or by a unit while processing), late, apology (Mẫu 04),
# payment due (with the amount), result, refusal, stop. Never what the applicant did
# themselves (submitting, supplementing, withdrawing): they know it.
APPLICANT_EVENTS: frozenset[str] = frozenset(
    {
        DossierReceived.EVENT_TYPE,
        DossierReceivedV1.EVENT_TYPE,
        IntakeSupplementRequested.EVENT_TYPE,
        SupplementRequested.EVENT_TYPE,
        DossierOverdue.EVENT_TYPE,
        ApologyIssued.EVENT_TYPE,
        PaymentRequested.EVENT_TYPE,
        ResultReady.EVENT_TYPE,
        DossierDenied.EVENT_TYPE,
        DossierDeniedV1.EVENT_TYPE,
        DossierStopped.EVENT_TYPE,
    }
)
# Dossier facts name the applicant by a keyed hash only: the contact comes on its own
# topic (applicant.contact.registered.v1), and facts find it by dossier code. The
# deprecated v1 facts still carry one, so old messages keep working.
LEGACY_CONTACT_FACTS: tuple[type[EventData], ...] = (
    DossierSubmittedV1,
    DossierReceivedV1,
    DossierDeniedV1,
)


def _transfer_receiver(data: EventData) -> list[str]:
    return [data.to_unit] if isinstance(data, TransferRequested) else []


def _step_unit(data: EventData) -> list[str]:
    return [data.unit] if isinstance(data, StepDueSoon | StepOverdue) else []


# Units that must act: a hand-over waiting for acceptance, a step due soon, an overdue step.
UNIT_EVENTS: dict[str, Callable[[EventData], list[str]]] = {
    TransferRequested.EVENT_TYPE: _transfer_receiver,
    StepDueSoon.EVENT_TYPE: _step_unit,
    StepOverdue.EVENT_TYPE: _step_unit,
}
# An old version of a fact is told with the current version's template.
TEMPLATE_OF_OLD_VERSION: dict[str, str] = {
    DossierReceivedV1.EVENT_TYPE: DossierReceived.EVENT_TYPE,
    DossierDeniedV1.EVENT_TYPE: DossierDenied.EVENT_TYPE,
}
TEMPLATED_EVENTS: frozenset[str] = (APPLICANT_EVENTS | frozenset(UNIT_EVENTS)) - frozenset(
    TEMPLATE_OF_OLD_VERSION
)
CONTACT_EVENT_TYPE = ApplicantContactRegistered.EVENT_TYPE
UNIT_FIELDS = ("holding_unit", "receiving_unit", "from_unit", "to_unit", "unit")


class RecipientKind(StrEnum):
    APPLICANT = "applicant"
    UNIT = "unit"
    SUBSCRIBER = "subscriber"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlannedNotification(_Frozen):
    """One message to send: who, on which channel, with which template."""

    recipient_kind: RecipientKind
    recipient_ref: str = Field(description="Keyed hash, unit code or subscription id.")
    channel: Channel
    address: str = Field(description="Email, phone or URL: stored to send, never logged.")
    display: str = Field(description="What people reading the API see (masked for applicants).")
    template: str | None = None
    language: Language | None = None
    recipient_name: str | None = None
    subscription_id: str | None = None
    held: bool = Field(False, description="Recorded but not sent until the subscriber resumes.")


class UnitChannel(_Frozen):
    """How one unit is reached."""

    email: str | None = None
    language: Language = Language.VI
    name: str = Field("", description="A label for people reading the file.")


class UnitDirectory(_Frozen):
    """The versioned unit-channel configuration (data/notification/unit-channels.json)."""

    schema_: int = Field(alias="schema")
    version: str
    description: str = ""
    default: UnitChannel
    units: dict[str, UnitChannel] = Field(default_factory=dict)

    def channel_for(self, unit: str) -> UnitChannel:
        """The unit's own channel, or the default one."""
        return self.units.get(unit, self.default)


def contact_of(data: EventData) -> ContactDetails | None:
    """The applicant contact an event carries, if any (its registration, or an old v1 fact)."""
    if isinstance(data, ApplicantContactRegistered):
        return data.contact
    if isinstance(data, LEGACY_CONTACT_FACTS):
        legacy: ApplicantContact = data.applicant  # type: ignore[attr-defined]
        return ContactDetails.model_validate(legacy.model_dump(exclude={"identity_hash"}))
    return None


def applicant_addresses(contact: ContactDetails) -> list[tuple[Channel, str]]:
    """The channels to use, in preference order: those chosen that have an address.

    With no preference, email when there is one, else SMS.
    """
    address = {Channel.EMAIL: contact.email, Channel.SMS: contact.phone}
    preferred = [c for c in contact.channels if c in address]
    if not preferred:
        preferred = [Channel.EMAIL] if contact.email else [Channel.SMS]
    chosen: list[tuple[Channel, str]] = []
    for channel in dict.fromkeys(preferred):
        value = address[channel]
        if value:
            chosen.append((channel, value))
    return chosen


def plan_for_applicant(
    event_type: str, contact: ContactDetails | None, privacy_key: str
) -> list[PlannedNotification]:
    """Messages to the applicant for this event type (none when it does not concern them)."""
    if event_type not in APPLICANT_EVENTS or contact is None:
        return []
    return [
        PlannedNotification(
            recipient_kind=RecipientKind.APPLICANT,
            recipient_ref=f"applicant:{contact_ref(privacy_key, address)}",
            channel=channel,
            address=address,
            display=mask_address(channel, address),
            template=event_type,
            language=contact.language,
            recipient_name=contact.name,
        )
        for channel, address in applicant_addresses(contact)
    ]


def plan_for_units(
    event_type: str, data: EventData, directory: UnitDirectory
) -> list[PlannedNotification]:
    """Messages to units that must act on this event, through their configured channel."""
    targets = UNIT_EVENTS.get(event_type)
    if targets is None:
        return []
    planned = []
    for unit in dict.fromkeys(targets(data)):
        channel = directory.channel_for(unit)
        if channel.email:
            planned.append(
                PlannedNotification(
                    recipient_kind=RecipientKind.UNIT,
                    recipient_ref=f"unit:{unit}",
                    channel=Channel.EMAIL,
                    address=channel.email,
                    display=channel.email,
                    template=event_type,
                    language=channel.language,
                    recipient_name=unit,
                )
            )
    return planned


def units_of(data: EventData) -> set[str]:
    """Every unit an event names (holding, receiving, sending, receiving-side, acting).

    A notification outcome names none of these fields: it names the units of the fact it
    told of (``units``, see ``outcome_units``) and, for a unit delivery, the unit told
    (also in outcomes written before they carried ``units``)."""
    if isinstance(data, NotificationOutcome):
        return {*data.units, *_unit_told(data.recipient_kind, data.recipient_ref)}
    found = (getattr(data, name, None) for name in UNIT_FIELDS)
    return {value for value in found if isinstance(value, str) and value}


def outcome_units(told: EventData | None, recipient_kind: str, recipient_ref: str) -> list[str]:
    """The units an outcome of a delivery names: those of the fact it told of (if it
    reads), and the unit told (a unit delivery), sorted."""
    named = units_of(told) if told is not None else set()
    return sorted({*named, *_unit_told(recipient_kind, recipient_ref)})


def _unit_told(recipient_kind: str, recipient_ref: str) -> list[str]:
    prefix = f"{RecipientKind.UNIT.value}:"
    if recipient_kind == RecipientKind.UNIT.value and recipient_ref.startswith(prefix):
        return [recipient_ref.removeprefix(prefix)]
    return []


def forwardable(data: EventData) -> bool:
    """Whether subscribers may get this event: outcomes of webhook deliveries never
    are, or each delivery would cause another one, forever."""
    return not (isinstance(data, NotificationOutcome) and data.recipient_kind == "subscriber")


def plan_for_subscribers(
    event_type: str, data: EventData, subscriptions: Iterable[SubscriptionView]
) -> list[PlannedNotification]:
    """Webhook deliveries to matching subscriptions; paused ones are recorded as held."""
    if not forwardable(data):
        return []
    units = units_of(data)
    return [
        PlannedNotification(
            recipient_kind=RecipientKind.SUBSCRIBER,
            recipient_ref=f"subscription:{sub.id}",
            channel=Channel.WEBHOOK,
            address=sub.url,
            display=sub.url,
            subscription_id=sub.id,
            held=sub.status is SubscriptionStatus.PAUSED,
        )
        for sub in subscriptions
        if subscription_matches(sub, event_type, units)
    ]


def may_notify(event_type: str, data: EventData, subscriptions: Iterable[SubscriptionView]) -> bool:
    """Whether handling the event may store anything: a contact to keep, an applicant or a
    unit to tell, or a subscription that wants it. An event for nobody changes nothing."""
    if contact_of(data) is not None or event_type in APPLICANT_EVENTS or event_type in UNIT_EVENTS:
        return True
    return bool(plan_for_subscribers(event_type, data, subscriptions))


def handled_event_types() -> list[str]:
    """Every type notification consumes: dossier and notification facts (old versions too)
    and the applicant's contact registration."""
    facts = (t for t in REGISTRY if t.startswith(SUBSCRIBABLE_PREFIXES))
    return sorted([*facts, CONTACT_EVENT_TYPE])
