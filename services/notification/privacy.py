"""Keeping contact data out of logs, events and error texts (pure functions).

Contact data is stored only where it is needed to send (this service's database).
Everywhere else an applicant is a keyed hash (``contact_ref``) and people reading
the API see a masked form (``mask_address``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
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
    """Replace each secret (an address, a phone) that occurs in ``text`` with ``***``, in
    any spelling a server may echo it in: any letter case (``An@Example.VN``), an email's
    domain in its ASCII form (``xn--...``), a phone's digits with spaces, dots or dashes
    between them."""
    for secret in secrets:
        if secret and secret.strip():
            text = _spellings(secret.strip()).sub("***", text)
    return text


def redacted_for(record: Mapping[str, Any], text: str | None) -> str | None:
    """``text`` (an error) without an applicant delivery's address; others' as they are."""
    if text is None or record["recipient_kind"] != "applicant":
        return text
    return redact(text, [record["address"]])


def _spellings(secret: str) -> re.Pattern[str]:
    variants = {secret}
    local, at, domain = secret.rpartition("@")
    if at:
        try:
            variants.add(f"{local}@{domain.encode('idna').decode('ascii')}")
        except UnicodeError:
            pass  # not a domain IDNA can spell: the address as given
    patterns = [re.escape(variant) for variant in sorted(variants, key=len, reverse=True)]
    digits = [c for c in secret if c.isdigit()]
    if not at and len(digits) >= 6 and all(c.isdigit() or c in " .-+()" for c in secret):
        patterns.append(r"[\s.\-]?".join(digits))  # 090 123 4567, 090-123-4567
    return re.compile("|".join(patterns), re.IGNORECASE)
