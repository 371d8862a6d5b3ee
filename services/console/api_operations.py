"""The console's dead letters and its two actions (``/api/...``): replay a dead letter,
redeliver a failed notification, and the actions recorded. The actions are recorded as
the signed-in operator, and refused with 403 ``actions_disabled`` while the console is
read-only. Every route needs an operator (``console.signin.operator``).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from console import handlers, redeliveries
from console.actions import Operations
from console.api import API_PREFIX, kafka_of, options_of, unavailable
from console.domain import LetterFilter, letter_message
from console.signin import operator
from console.sources import PAGE_LETTERS, ServiceUnavailable
from shared.auth import Principal
from shared.http import DomainError, NotFound
from shared.kafka.deadletter import DeadLetter
from shared.topics import personal_data_of

# The console is an operations tool: every JSON route needs a signed-in operator.
router = APIRouter(prefix=API_PREFIX, tags=["console"], dependencies=[Depends(operator)])
Operator = Annotated[Principal, Depends(operator)]


def _ops(request: Request) -> Operations:
    if not options_of(request).actions_enabled:
        raise DomainError(
            "the console is read-only here (LT_CONSOLE_ACTIONS_ENABLED is off)",
            code="actions_disabled",
            status=403,
        )
    ops: Operations = request.app.state.operations
    return ops


def _letter_view(letter: DeadLetter, topic_prefix: str) -> dict[str, Any]:
    """A dead letter as operators see it: every letter's metadata; its message only when
    its topic carries no personal data (``letter_message``), and then its error without
    the values it may quote (``DeadLetter.shown_error``), in the ``dlq_error`` header too."""
    original = handlers.original_of(letter)
    personal = personal_data_of(topic_prefix, letter.original_topic)
    headers = {k: v.decode(errors="replace") for k, v in letter.headers}
    if "dlq_error" in headers:
        headers["dlq_error"] = letter.shown_error(topic_prefix, headers["dlq_error"])
    return {
        "at": f"{letter.partition}:{letter.offset}",
        "key": letter.key,
        "original_topic": letter.original_topic,
        "original_partition": letter.original_partition,
        "original_offset": letter.original_offset,
        "consumer_group": letter.consumer_group,
        "error": letter.shown_error(topic_prefix),
        "error_kind": letter.error_kind,
        "attempts": letter.attempts,
        "failed_at": letter.failed_at,
        "event_type": original.type if original else None,
        "event_id": original.id if original else None,
        "notification_id": handlers.notification_of(letter),
        **letter_message(letter.value, personal),
        "headers": headers,
    }


@router.get("/deadletters", summary="Dead letters with error, origin and attempts")
async def dead_letters(
    request: Request,
    original_topic: str | None = None,
    error_kind: str | None = None,
    consumer_group: str | None = None,
) -> dict[str, Any]:
    wanted = LetterFilter(original_topic, error_kind, consumer_group)
    letters = [dl for dl in await kafka_of(request).dead_letters() if wanted.matches(dl)]
    ops: Operations = request.app.state.operations
    positions = {handlers.letter_of(ops, dl): f"{dl.partition}:{dl.offset}" for dl in letters}
    replays = await ops.store.of_letters(positions)
    return {
        "items": [
            {
                **_letter_view(dl, kafka_of(request).topic_prefix),
                "last_action": _action_of(replays.get(f"{dl.partition}:{dl.offset}")),
            }
            for dl in letters
        ]
    }


def _action_of(action: dict[str, Any] | None) -> dict[str, Any] | None:
    """The latest replay of a dead letter, if any (the letter itself stays in Kafka)."""
    if action is None:
        return None
    return {
        k: action.get(k)
        for k in ("action", "operator", "at", "status", "notification_status", "error")
    }


class ReplayRequest(BaseModel):
    """One or more dead letters by position, or every one a filter matches."""

    positions: list[str] = Field(default_factory=list, max_length=1000)
    original_topic: str | None = None
    error_kind: str | None = None
    consumer_group: str | None = None


@router.post("/deadletters/replay", summary="Replay dead letters to their original topic")
async def replay(request: Request, body: ReplayRequest, caller: Operator) -> dict[str, Any]:
    ops = _ops(request)
    wanted = LetterFilter(body.original_topic, body.error_kind, body.consumer_group)
    if not body.positions and wanted.empty():
        raise DomainError("name positions or a filter", code="nothing_selected", field="positions")
    # Named positions are looked for among every retained letter, not the page's first
    # PAGE_LETTERS: a letter past them was refused as absent ("no dead letter at").
    letters = await kafka_of(request).dead_letters(limit=None if body.positions else PAGE_LETTERS)
    chosen = [
        dl
        for dl in letters
        if (not body.positions or f"{dl.partition}:{dl.offset}" in body.positions)
        and wanted.matches(dl)
    ]
    missing = set(body.positions) - {f"{dl.partition}:{dl.offset}" for dl in chosen}
    if missing:
        retained = {f"{dl.partition}:{dl.offset}" for dl in letters}
        absent, unmatched = sorted(missing - retained), sorted(missing & retained)
        said = [f"no dead letter at {absent}"] if absent else []
        said += [f"the dead letters at {unmatched} do not match the filter"] if unmatched else []
        raise NotFound("; ".join(said), code="dead_letter_not_found", field="positions")
    try:
        return {"replayed": [await handlers.replay_letter(ops, dl, caller) for dl in chosen]}
    except ServiceUnavailable as exc:  # notification, asked about a failed delivery's letter
        raise unavailable(exc) from exc


class Redelivery(BaseModel):
    """The dossier recorded is the notification's own (a ``dossier_code`` sent is ignored)."""

    reason: str = Field("redelivery asked from the console", min_length=1, max_length=2000)


@router.post("/notifications/{notification_id}/redeliver", summary="Send a failed one again")
async def redeliver(
    request: Request, notification_id: str, body: Redelivery, caller: Operator
) -> dict[str, Any]:
    """Refused with 404 ``notification_not_found`` or 409 ``not_redeliverable`` (its
    ``notification_status`` said) before anything is recorded; else recorded, audited
    and answered ``requested``: ``GET /api/actions`` follows what notification made of it."""
    ops = _ops(request)
    try:
        return await redeliveries.redeliver(ops, notification_id, body.reason, caller)
    except ServiceUnavailable as exc:
        raise unavailable(exc) from exc


@router.get("/actions", summary="Replays and redeliveries: who, when, what, with what outcome")
async def actions(request: Request) -> dict[str, Any]:
    """The latest actions; a redelivery whose outcome is not known yet is read from
    notification first (while actions are enabled: a read-only console shows what was
    last recorded)."""
    ops: Operations = request.app.state.operations
    items = await ops.store.recent()
    if options_of(request).actions_enabled:
        open_ = [i for i, item in enumerate(items) if redeliveries.followed(item)]
        found = await asyncio.gather(*(redeliveries.follow_up(ops, items[i]) for i in open_))
        for i, item in zip(open_, found, strict=True):
            items[i] = item
    return {"items": items}
