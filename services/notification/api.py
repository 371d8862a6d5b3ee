"""HTTP routes of the notification service (thin: validate, call a handler, map errors).

``/v1/subscriptions``: agency webhooks (create, list, read, delete, resume).
``/v1/notifications?dossier=``: what was sent about a dossier, with every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from notification import subscriptions
from notification.dispatcher import Dispatcher
from notification.store import NotificationStore
from shared.clock import Clock
from shared.http import NotFound
from shared.mongo.client import Document

router = APIRouter(prefix="/v1")
STATUS: dict[str, int] = {  # notification's one table: refusal code -> HTTP status
    "invalid_url": 422,
    "unknown_event_type": 422,
    "not_found": 404,
}
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


@dataclass
class NotificationApi:
    """What the routes need, set on ``app.state.notification`` by the lifespan."""

    store: NotificationStore
    dispatcher: Dispatcher
    clock: Clock


def _api(request: Request) -> NotificationApi:
    api: NotificationApi = request.app.state.notification
    return api


class SubscriptionRequest(BaseModel):
    """A webhook subscription as an agency system asks for it."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="Absolute http(s) URL.")
    event_types: list[str] = Field(
        min_length=1, max_length=100, description="dossier.* or notification.* fact types."
    )
    units: list[UnitCode] = Field(
        default_factory=list, max_length=500, description="Only events naming one of these."
    )
    secret: str = Field(
        min_length=16, max_length=256, description="Shared HMAC secret; never returned."
    )
    description: str | None = Field(None, max_length=500)


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    units: list[str]
    description: str | None = None
    status: str
    consecutive_failures: int = 0
    paused_at: datetime | None = None
    paused_reason: str | None = None
    created_at: datetime
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None

    @classmethod
    def of(cls, doc: Document) -> SubscriptionOut:
        fields = {k: v for k, v in doc.items() if k in cls.model_fields}
        return cls(id=doc["_id"], **fields)


class ResumeOut(BaseModel):
    subscription: SubscriptionOut
    released: int = Field(description="Held deliveries now on their way.")


class AttemptOut(BaseModel):
    number: int
    at: datetime
    outcome: str
    error: str | None = None


class NotificationOut(BaseModel):
    id: str
    dossier_code: str
    source_event_id: str
    source_event_type: str
    recipient_kind: str
    recipient: str = Field(description="Masked for applicants.")
    recipient_ref: str
    channel: str
    template: str | None = None
    language: str | None = None
    subscription_id: str | None = None
    status: str
    attempts: list[AttemptOut]
    created_at: datetime
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    error: str | None = None

    @classmethod
    def of(cls, doc: Document) -> NotificationOut:
        fields: dict[str, Any] = {k: v for k, v in doc.items() if k in cls.model_fields}
        fields["attempts"] = [AttemptOut(**a) for a in doc.get("attempts") or []]
        return cls(id=doc["_id"], recipient=doc["display"], **fields)


class NotificationList(BaseModel):
    dossier_code: str
    items: list[NotificationOut]


@router.post("/subscriptions", status_code=201, tags=["subscriptions"])
async def create_subscription(body: SubscriptionRequest, request: Request) -> SubscriptionOut:
    """Subscribe an agency system to signed webhook deliveries."""
    api = _api(request)
    doc = await subscriptions.create_subscription(
        store=api.store,
        clock=api.clock,
        url=body.url,
        event_types=body.event_types,
        units=body.units,
        secret=body.secret,
        description=body.description,
    )
    return SubscriptionOut.of(doc)


@router.get("/subscriptions", tags=["subscriptions"])
async def list_subscriptions(request: Request) -> list[SubscriptionOut]:
    """Every subscription with its status (secrets are never shown)."""
    return [SubscriptionOut.of(doc) for doc in await _api(request).store.list_subscriptions()]


@router.get("/subscriptions/{subscription_id}", tags=["subscriptions"])
async def get_subscription(subscription_id: str, request: Request) -> SubscriptionOut:
    return SubscriptionOut.of(
        await subscriptions.get_subscription(_api(request).store, subscription_id)
    )


@router.delete("/subscriptions/{subscription_id}", status_code=204, tags=["subscriptions"])
async def delete_subscription(subscription_id: str, request: Request) -> Response:
    """Stop deliveries to this subscription and forget its secret."""
    api = _api(request)
    await subscriptions.delete_subscription(api.store, api.clock, subscription_id)
    return Response(status_code=204)


@router.post("/subscriptions/{subscription_id}/resume", tags=["subscriptions"])
async def resume_subscription(subscription_id: str, request: Request) -> ResumeOut:
    """Reactivate a paused subscription; deliveries held meanwhile go out."""
    api = _api(request)
    doc, released = await subscriptions.resume_subscription(api.store, api.clock, subscription_id)
    api.dispatcher.wake()
    return ResumeOut(subscription=SubscriptionOut.of(doc), released=released)


@router.get("/notifications", tags=["notifications"])
async def list_notifications(
    request: Request,
    dossier: Annotated[str, Query(min_length=1, max_length=64, description="Dossier code.")],
) -> NotificationList:
    """Every notification about a dossier, with each attempt (recipients masked)."""
    docs = await _api(request).store.for_dossier(dossier)
    return NotificationList(dossier_code=dossier, items=[NotificationOut.of(d) for d in docs])


@router.get("/notifications/{notification_id}", tags=["notifications"])
async def get_notification(notification_id: str, request: Request) -> NotificationOut:
    doc = await _api(request).store.get(notification_id)
    if doc is None:
        raise NotFound(f"no notification {notification_id}", field="notification_id")
    return NotificationOut.of(doc)
