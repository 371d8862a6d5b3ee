"""Keeping contact data out of logs, events and error texts (pure functions).

Contact data is stored only where it is needed to send (this service's database).
Everywhere else an applicant is a keyed hash (``contact_ref``) and people reading
the API see a masked form (``mask_address``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from shared.events.dossier import Channel


def contact_ref(key: str, value: str) -> str:
    """A stable keyed hash of a contact value (HMAC-SHA256, 32 hex characters)."""
    normalised = value.strip().lower()
    return hmac.new(key.encode(), normalised.encode(), hashlib.sha256).hexdigest()[:32]


def mask_email(email: str) -> str:
    """``nguyen.van.a@example.vn`` -> ``n***@e***.vn``."""
    local, _, domain = email.partition("@")
    if not domain:
        return "***"
    host, dot, tld = domain.rpartition(".")
    masked_domain = f"{host[:1]}***{dot}{tld}" if dot else f"{domain[:1]}***"
    return f"{local[:1]}***@{masked_domain}"


def mask_phone(phone: str) -> str:
    """``0901234567`` -> ``*******567``: only the last three digits stay."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 3:
        return "***"
    return "*" * (len(digits) - 3) + "".join(digits[-3:])


def mask_address(channel: Channel, address: str) -> str:
    """A masked form of an applicant's address on one channel."""
    if channel is Channel.EMAIL:
        return mask_email(address)
    if channel is Channel.SMS:
        return mask_phone(address)
    return address  # webhook URLs belong to agencies, not people


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace each secret (an address, a phone) that occurs in ``text`` with ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            if "@" in secret:
                text = text.replace(secret.lower(), "***")
    return text


def redacted_for(record: Mapping[str, Any], text: str | None) -> str | None:
    """``text`` (an error) without an applicant delivery's address; others' as they are."""
    if text is None or record["recipient_kind"] != "applicant":
        return text
    return redact(text, [record["address"]])
