"""Personal fields of logged events, sealed under a per-dossier key kept outside the log.

Which fields are personal, the contracts say: every field marked personal in
``shared.events`` (``shared/events/personal.py``: personal data, pseudonyms such as
``identity_hash`` and ``recipient_ref``, and free text), found by walking the event type's
model, so a field added later is sealed as soon as it is marked, and a unit test refuses
an unmarked free-text field. ``LT_AUDIT_PERSONAL_FIELDS`` may add paths.

Before an event is hashed and appended, each personal value it carries (by concrete path,
e.g. ``data.applicant.identity_hash``, ``data.documents.0.name``, ``data.reason``) is
replaced by a sealed value::

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
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from audit.domain import canonical_json
from shared.events import REGISTRY, EventData
from shared.events.personal import ITEM
from shared.events.personal import personal_paths as marked_paths

SEALED = "sealed"
NONCE_BYTES = 12


def new_dossier_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_id(key: bytes) -> str:
    """A short public name of a dossier key (not secret: a hash of it)."""
    return hashlib.sha256(b"lienthong-audit-dossier-key\n" + key).hexdigest()[:8]


def contract_paths(event_type: str) -> tuple[str, ...]:
    """The paths the event type's contract marks personal (``data.documents.*.name``)."""
    model = REGISTRY.get(event_type)
    return () if model is None else _contract_paths(model)


@cache
def _contract_paths(model: type[EventData]) -> tuple[str, ...]:
    return tuple(f"data.{path}" for path in marked_paths(model))


def _expand(node: Any, parts: list[str], at: list[str]) -> Iterator[str]:
    if not parts:
        if node is not None:
            yield ".".join(at)
        return
    part, *rest = parts
    if part == ITEM:
        if isinstance(node, list):
            for number, item in enumerate(node):
                yield from _expand(item, rest, [*at, str(number)])
    elif isinstance(node, dict) and part in node:
        yield from _expand(node[part], rest, [*at, part])


def _parent(event: dict[str, Any], path: str) -> tuple[Any, str | int] | None:
    """The object (or list) holding the value at the concrete ``path`` and its name (or
    position), if the event has a value there."""
    *parents, name = path.split(".")
    node: Any = event
    for part in parents:
        node = _child(node, part)
    if isinstance(node, dict) and node.get(name) is not None:
        return node, name
    if isinstance(node, list) and name.isdigit() and int(name) < len(node):
        return (node, int(name)) if node[int(name)] is not None else None
    return None


def _child(node: Any, part: str) -> Any:
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    return None


def personal_paths(event: Mapping[str, Any], paths: Iterable[str]) -> list[str]:
    """Where the event carries a value at the personal ``paths`` (``*``: every item of a
    list), as concrete paths (``data.documents.0.name``), each once, in order."""
    found: dict[str, None] = {}
    for path in paths:
        found.update(dict.fromkeys(_expand(dict(event), path.split("."), [])))
    return list(found)


def _aad(event_id: str, path: str) -> bytes:
    return f"{event_id}\n{path}".encode()


def seal(event: dict[str, Any], paths: list[str], key: bytes) -> dict[str, Any]:
    """A copy of the event with the values at these concrete paths (``personal_paths``)
    sealed under the dossier key."""
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


def sealed_fields(event: Any, at: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every sealed value the logged event holds, by concrete path, wherever it is: what
    an entry was sealed with is read from the entry itself, so entries sealed under
    earlier rules (other paths) read back the same."""
    if isinstance(event, dict):
        if set(event) == {SEALED, "key"} and all(isinstance(v, str) for v in event.values()):
            yield at, event
            return
        items: Iterable[tuple[str, Any]] = event.items()
    elif isinstance(event, list):
        items = ((str(number), item) for number, item in enumerate(event))
    else:
        return
    for name, value in items:
        yield from sealed_fields(value, f"{at}.{name}" if at else name)


def unseal(event: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    """The personal fields in clear, by path; ``{"erased": true}`` where the key is gone."""
    found: dict[str, Any] = {}
    for path, value in sealed_fields(dict(event)):
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
