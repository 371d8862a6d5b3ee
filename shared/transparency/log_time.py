"""The time a log's checkpoint carries: its ``time <log time>`` extension line.

The audit log writes one form, ``2026-11-26T09:00:00.123Z`` (``format_log_time``, UTC,
milliseconds, what BSON keeps); verifiers read any RFC 3339 time with an offset
(``parse_log_time``) and compare instants, never text: the same instant has many
spellings. The witness holds the platform's own log to the exact form it writes
(``read_log_form``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

TIME_EXTENSION = "time"
"""The checkpoint extension line ``time <log time>``: when the log signed it."""

RFC3339_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})",
    re.ASCII,
)
LOG_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z")


def log_time(moment: datetime) -> datetime:
    """A moment in UTC truncated to milliseconds: what the log records (and BSON keeps)."""
    moment = moment.astimezone(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def format_log_time(moment: datetime) -> str:
    """The fixed text form of a log time: ``2026-11-26T09:00:00.123Z``."""
    moment = log_time(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_log_time(text: str) -> datetime:
    """A time written in RFC 3339 with its offset (``2026-11-26T09:00:00.123Z``,
    ``2026-11-26T16:00:00+07:00``) as a UTC instant; ValueError for anything else (no
    offset, no seconds, a space for ``T``, a leap second, trailing text).

    Checkpoint times and key windows are compared as instants, never as text: the same
    instant has many RFC 3339 spellings. Digits beyond microseconds are dropped.
    """
    found = RFC3339_TIME.fullmatch(text) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"not an RFC 3339 time with an offset: {str(text)[:40]!r}")
    fraction, offset = found.group(7) or "", found.group(8)
    iso = text[:19] + (f".{fraction[:6]:0<6}" if fraction else "")
    iso += "+00:00" if offset == "Z" else offset
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError as exc:  # month 13, 25 o'clock, second 60, offset +24:00…
        raise ValueError(f"not a valid RFC 3339 time: {text!r}: {exc}") from None
    return moment.astimezone(UTC)


def read_log_form(value: str | None) -> datetime | None:
    """A ``time`` line's value in the exact form the log writes, as a moment; None if it
    is not in that form or names no such moment (2026-02-30, 25:00)."""
    if value is None or not LOG_FORM.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    except ValueError:
        return None
