"""Personal fields of logged events, sealed under a per-dossier key kept outside the log.

Before an event is hashed and appended, each personal field it carries (by path, e.g.
``data.applicant.name``, ``data.note``) is replaced by a sealed value::

    {"sealed": "<base64(nonce ‖ AES-256-GCM ciphertext of the field's canonical JSON)>",
     "key": "<8 hex: which dossier key>"}

The associated data binds the ciphertext to the event id and the path. The log hashes
the sealed form, so every hash, proof and checkpoint stays valid when the dossier's key
is later destroyed: the fields then read as erased. Pure: no I/O.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from audit.domain import canonical_json

SEALED = "sealed"
NONCE_BYTES = 12


def new_dossier_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_id(key: bytes) -> str:
    """A short public name of a dossier key (not secret: a hash of it)."""
    return hashlib.sha256(b"lienthong-audit-dossier-key\n" + key).hexdigest()[:8]


def _parent(event: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    """The object holding the field at ``path`` and its name, if the event has it."""
    *parents, name = path.split(".")
    node: Any = event
    for part in parents:
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and node.get(name) is not None:
        return node, name
    return None


def personal_paths(event: Mapping[str, Any], paths: list[str]) -> list[str]:
    """Which of the personal paths the event carries a value at."""
    return [p for p in paths if _parent(dict(event), p) is not None]


def _aad(event_id: str, path: str) -> bytes:
    return f"{event_id}\n{path}".encode()


def seal(event: dict[str, Any], paths: list[str], key: bytes) -> dict[str, Any]:
    """A copy of the event with its personal fields sealed under the dossier key."""
    sealed = copy.deepcopy(event)
    for path in paths:
        found = _parent(sealed, path)
        if found is None:
            continue
        node, name = found
        nonce = secrets.token_bytes(NONCE_BYTES)
        cipher = AESGCM(key).encrypt(nonce, canonical_json(node[name]), _aad(event["id"], path))
        node[name] = {SEALED: base64.b64encode(nonce + cipher).decode(), "key": key_id(key)}
    return sealed


def sealed_fields(
    event: Mapping[str, Any], paths: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The sealed values the logged event holds, by path."""
    for path in paths:
        found = _parent(dict(event), path)
        if found is not None:
            node, name = found
            value = node[name]
            if isinstance(value, dict) and SEALED in value:
                yield path, value


def unseal(event: Mapping[str, Any], paths: list[str], key: bytes | None) -> dict[str, Any]:
    """The personal fields in clear, by path; ``{"erased": true}`` where the key is gone."""
    found: dict[str, Any] = {}
    for path, value in sealed_fields(event, paths):
        if key is None or value.get("key") != key_id(key):
            found[path] = {"erased": True}
            continue
        try:
            raw = base64.b64decode(value[SEALED])
            plain = AESGCM(key).decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(str(event["id"]), path)
            )
            found[path] = json.loads(plain)
        except (InvalidTag, ValueError):
            found[path] = {"erased": True}
    return found
