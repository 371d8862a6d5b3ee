"""What the alert rules watch, scraped from each service started against the real broker
and store: readiness, the relay's heartbeat, the background workers' last good round,
dead-letter counters at 0 before the first (``increase()`` misses a series whose first
sample is already 1), and the audit and portal backlogs."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.runtime import CommonSettings
from shared.testing import ActAs, eventually, running_app

# The background workers each service runs with its default settings.
WORKERS = {
    "intake": {"intake-erasure"},
    "routing": {"overdue-scheduler"},
    "notification": {"portal-backlog"},
    "audit": {"audit-checkpoints", "audit-erasure", "audit-backlog"},
}


def scraped(text: str, name: str, **labels: str) -> list[dict[str, Any]]:
    return [
        {**sample.labels, "value": sample.value}
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]


@pytest.mark.parametrize("service", list(WORKERS))
async def test_a_started_service_exports_what_the_alert_rules_watch(
    service: str, common_settings: CommonSettings
) -> None:
    main = importlib.import_module(f"{service}.main")
    config = importlib.import_module(f"{service}.config")
    settings = getattr(config, f"{service.capitalize()}Settings")(**common_settings.model_dump())
    prefix = common_settings.kafka.topic_prefix
    async with running_app(main.create_app(settings), ActAs("operations")) as client:

        async def scrape() -> str:
            response = await client.get("/metrics")
            assert response.status_code == 200
            return response.text

        async def workers_reported() -> str | None:
            text = await scrape()
            names = {s["worker"] for s in scraped(text, "lt_worker_failures_total")}
            return text if WORKERS[service] <= names else None

        text = await eventually(workers_reported)
        assert scraped(text, "lt_ready", service=service)[0]["value"] == 1
        checks = {
            s["check"]: s["value"] for s in scraped(text, "lt_readiness_check", service=service)
        }
        assert checks == {"store": 1, "broker": 1}
        assert scraped(text, "lt_outbox_relay_last_success_timestamp_seconds", service=service)
        for worker in WORKERS[service]:
            assert scraped(text, "lt_worker_last_success_timestamp_seconds", worker=worker)
        # Every topic it consumes, both kinds a consumer dead-letters, from 0.
        dead = scraped(text, "lt_dead_letters_total", service=service)
        assert {(s["kind"], s["value"]) for s in dead} >= {("malformed", 0), ("handler_failed", 0)}
        if service == "notification":
            # A failed delivery is dead-lettered under the topic of the fact behind it.
            events = f"{prefix}dossier.events"
            failed = [s for s in dead if s["kind"] == "delivery_failed" and s["topic"] == events]
            assert [s["value"] for s in failed] == [0]

            async def portal_counted() -> list[dict[str, Any]] | None:
                return scraped(await scrape(), "lt_portal_messages", service=service) or None

            assert {s["status"] for s in await eventually(portal_counted)} == {"pending", "dead"}
            # No LT_PORTAL_SYNC_ENDPOINT in the tests: the messages are held.
            assert scraped(text, "lt_portal_sending", service=service)[0]["value"] == 0
        if service == "audit":

            async def backlog_measured() -> list[dict[str, Any]] | None:
                text = await scrape()
                return scraped(text, "lt_audit_unwitnessed_age_seconds", service=service) or None

            assert await eventually(backlog_measured)
            assert scraped(await scrape(), "lt_audit_unsigned_age_seconds", service=service)
