"""The local brokers' cluster ids never start with "-", which StorageTool would take for
an option (one random id in 64 did, failing the broker's first start)."""

from __future__ import annotations

import uuid

import pytest

from infra import devstack


def test_a_cluster_id_starting_with_a_dash_is_drawn_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    draws = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=bytes(16))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(draws))
    assert devstack.uuid_base64() == "AAAAAAAAAAAAAAAAAAAAAA"
