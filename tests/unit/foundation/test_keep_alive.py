"""The services keep idle connections open longer than pooling clients do."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from witness.config import WitnessHttp

from shared.app import server_config
from shared.settings import HttpSettings


def test_idle_connections_outlive_common_client_pools() -> None:
    config = server_config(FastAPI(), HttpSettings())
    # aiohttp drops idle pooled connections after 15 s, nginx upstreams after 60 s.
    assert config.timeout_keep_alive == 75


def test_keep_alive_is_a_setting_of_each_service(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LT_WITNESS_KEEP_ALIVE_SECONDS", "120")
    assert server_config(FastAPI(), WitnessHttp()).timeout_keep_alive == 120


def test_keep_alive_of_zero_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LT_WITNESS_KEEP_ALIVE_SECONDS", "0")
    with pytest.raises(ValueError, match="keep_alive_seconds"):
        WitnessHttp()
