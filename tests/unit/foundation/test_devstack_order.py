"""devstack starts the broker only once Keycloak answers: the broker's SASL listener
fetches the realm's keys as it starts (BrokerJwtValidator) and the broker exits without
them, so a broker started alongside a Keycloak still booting would not come up."""

from __future__ import annotations

from typing import Any

import pytest

from infra import devstack


def test_kafka_starts_after_keycloak_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    steps: list[str] = []
    for component in ("store", "kafka", "keycloak"):
        monkeypatch.setattr(
            devstack, f"start_{component}", lambda _ports, c=component: steps.append(f"start {c}")
        )

    def wait_until(name: str, *_: Any) -> None:
        steps.append(f"ready {name}")

    monkeypatch.setattr(devstack, "wait_until", wait_until)
    monkeypatch.setattr(devstack, "sync_keycloak", lambda _ports: None)
    devstack.cmd_start(devstack.Ports.from_env(), list(devstack.COMPONENTS))
    assert steps.index("ready keycloak") < steps.index("start kafka") < steps.index("ready kafka")
    assert {"start store", "ready store", "start keycloak"} <= set(steps)
