"""What a failed delivery's error says: codes and fixed wording, never the remote side's text.

A relay's reply or a receiver's error text is written by someone else and may echo the
recipient (``550 5.1.1 <hoa@...>: Recipient address rejected: user Nguyễn Thị Hoa
unknown``): scrubbing the address (``privacy.redact``) leaves the name. So a delivery
error keeps what an operator acts on, and only that:

- SMTP: the reply code and the enhanced status code (RFC 3463) that opens the reply's
  text (``SMTP recipient refused: 550 5.1.1``, ``SMTP 554 5.7.1 (SMTPDataError)``); a
  connection that failed: the exception's class and errno (``SMTP unavailable:
  ConnectionRefusedError [errno 111]``);
- webhooks: the HTTP status and its standard phrase (``HTTP 503 Service Unavailable``),
  a timeout, the transport exception's class (``ConnectError``), or the egress guard's
  refusal (our own words about the URL's host);
- a channel's bug: ``channel error:`` its class and where it was raised, the message
  withheld (``shared.error_text.raised_at``);
- the service's own fixed texts (SMS disabled, no secret, plain http, ...).

``shown`` is the one rule every text goes through before it is stored, logged, published,
dead-lettered or answered by the API: a text of the forms above is kept as it is; an
attempt stored before (its error whole, scrubbed of the address only) is reduced to
its SMTP codes, or to its class with the message withheld. Such records keep their
text in the store until their retention ends; nothing reads it but ``shown``.
"""

from __future__ import annotations

import re

import aiosmtplib
import httpx

from shared.error_text import raised_at

OLD_WITHHELD = "message withheld (kept before delivery errors were reduced to codes)"
CHANNEL_ERROR = "channel error"

_ENHANCED = re.compile(r"\s*<?([245]\.\d{1,3}\.\d{1,3})>?(?=\s|$|[:;,.])")
_SMTP_CODE = re.compile(r"(?<![\d.])([2-5]\d\d)(?![\d.])")
_ANY_ENHANCED = re.compile(r"(?<![\d.])([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_CLASS = r"[A-Za-z_][A-Za-z0-9_]*"
_CODES = r"[2-5]\d\d(?: [245]\.\d{1,3}\.\d{1,3})?"
_CANONICAL = re.compile(
    "|".join(
        (
            rf"SMTP recipient refused: {_CODES}(?:, {_CODES})*",
            rf"SMTP {_CODES}(?: \({_CLASS}\))?",
            rf"SMTP unavailable: {_CLASS}(?: \[errno \d+\])?",
            rf"SMS file unavailable: {_CLASS}",
            r"SMS channel disabled: no SMS provider configured \(LT_NOTIFICATION_SMS_PROVIDER\)",
            r"timeout after \d+(?:\.\d+)?s",
            rf"{_CLASS}(?: \[errno \d+\])?",
            rf"{_CLASS}: egress refused: (?:does not resolve|resolves to [0-9A-Fa-f.:]+ is "
            r"(?:not )?an? [a-z0-9\- ]+ address(?: \(carrying [0-9A-Fa-f.:]+\))?)",
            rf"{CHANNEL_ERROR}: {_CLASS}(?: at [\w./\-]+:\d+ in [\w<>]+)?: message withheld",
            r"subscription has no secret",
            r"plain-http webhook URLs are not allowed",
            r"invalid webhook URL",
            r"cut off by a stop before the channel answered: it may have taken the message",
            r"no attempts left",
            r"subscription deleted",
            r"unknown error",
            rf"(?:{_CLASS}|delivery error): {re.escape(OLD_WITHHELD)}",
        )
    )
)


def smtp_codes(code: int, reply: str) -> str:
    """``550 5.1.1``: the reply code and the enhanced status code opening its text, if any."""
    enhanced = _ENHANCED.match(reply or "")
    return f"{code} {enhanced.group(1)}" if enhanced else str(code)


def smtp_refused(exc: aiosmtplib.SMTPRecipientsRefused) -> str:
    codes = ", ".join(smtp_codes(err.code, err.message) for err in exc.recipients)
    return f"SMTP recipient refused: {codes or 'no reply'}"


def smtp_answer(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"SMTP {smtp_codes(exc.code, exc.message)} ({type(exc).__name__})"


def with_errno(exc: BaseException) -> str:
    """The class, and the OS error number of an ``OSError`` or of its cause."""
    for link in (exc, exc.__cause__, exc.__context__):
        if isinstance(link, OSError) and link.errno is not None:
            return f"{type(exc).__name__} [errno {link.errno}]"
    return type(exc).__name__


def smtp_unavailable(exc: BaseException) -> str:
    return f"SMTP unavailable: {with_errno(exc)}"


def transport_error(exc: httpx.HTTPError, egress_refusal: str | None) -> str:
    """A webhook's transport failure: its class, or the egress guard's refusal."""
    if egress_refusal is not None:
        return f"{type(exc).__name__}: egress refused: {egress_refusal}"
    return with_errno(exc)


def channel_error(exc: BaseException) -> str:
    """A channel's bug: its class and where it was raised, never its message."""
    where = raised_at(exc)
    at = f" at {where}" if where else ""
    return f"{CHANNEL_ERROR}: {type(exc).__name__}{at}: message withheld"


def shown(text: str | None) -> str | None:
    """A delivery error as it may be stored, logged, published and shown (module doc)."""
    if text is None or _CANONICAL.fullmatch(text):
        return text
    if text.startswith("HTTP ") and _standard_http(text):
        return text
    unavailable = re.match(rf"SMTP unavailable: ({_CLASS})", text)
    if unavailable:
        return f"SMTP unavailable: {unavailable.group(1)}"
    if text.startswith("SMTP"):
        code = _SMTP_CODE.search(text)
        enhanced = _ANY_ENHANCED.search(text)
        codes = f"{code.group(1)}{f' {enhanced.group(1)}' if enhanced else ''}" if code else ""
        if text.startswith("SMTP recipient refused") and codes:
            return f"SMTP recipient refused: {codes}"
        if codes:
            return f"SMTP {codes}"
    kind = text.split(":", 1)[0].strip()
    named = kind if ":" in text and re.fullmatch(_CLASS, kind) else "delivery error"
    return f"{named}: {OLD_WITHHELD}"


def _standard_http(text: str) -> bool:
    """``HTTP 503 Service Unavailable``: a status and its standard phrase, nothing else."""
    parts = text.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit() or len(parts[1]) != 3:
        return False
    phrase = httpx.codes.get_reason_phrase(int(parts[1]))
    return text == f"HTTP {parts[1]} {phrase}".strip()


def shown_pause_reason(reason: str | None) -> str | None:
    """A subscription's ``paused_reason`` (``N consecutive failed deliveries; last:
    <error>``) with its error shown by the rule."""
    if reason is None:
        return None
    head, sep, error = reason.partition("; last: ")
    return f"{head}{sep}{shown(error)}" if sep else reason
