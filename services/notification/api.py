"""HTTP routes of the notification service (thin: validate, call a handler, map errors)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1")
