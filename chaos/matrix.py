"""Runs the fault matrix: three platforms side by side, a row per scenario.

Platforms "a" and "b" use the machine's broker (9092) and store (27017) with topic and
database prefixes of their own, so they coexist with other people's tests; the faults
that stop the broker or the store run on the "private" platform, whose broker and store
the harness starts itself on free ports. Every platform's services reach the store
through a latency proxy (the slow-store fault). Each scenario drives
its own dossiers through complete journeys while one fault is injected, then waits
until every check passes (or a bound runs out) and records the row.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from chaos import faults
from chaos.checks import Checker, DeadLetterId, Outcome, dead_letters, facts_by_dossier
from chaos.journeys import Driver, Journey, chaos_plan
from chaos.servers import LatencyProxy, MailSink, PrivateInfra, WebhookReceiver
from chaos.system import SERVICES, System
from shared.auth.identities import UnitAuth, auth_headers
from shared.catalogue.loading import load_catalogue
from shared.kafka.admin import ensure_topics
from shared.settings import KafkaSettings, MongoSettings
from shared.testing import drop_isolated, isolated_settings

log = logging.getLogger("chaos")
SETTLE_S = 240.0  # a bound for a failing run only; a passing one settles far sooner
FAST_RECOVERY_ENV = {
    "LT_AUDIT_CHECKPOINT_SECONDS": "1",
    "LT_AUDIT_CHECKPOINT_POLL_SECONDS": "0.3",
    "LT_MONGO_TRANSACTION_TIMEOUT_S": "8",
    "LT_MONGO_SERVER_SELECTION_TIMEOUT_MS": "2000",
    "LT_CONSUMER_BACKOFF_MAX_S": "2",
    "LT_CONSUMER_SESSION_TIMEOUT_MS": "6000",
    "LT_OUTBOX_RETRY_DELAY_S": "0.5",
    "LT_NOTIFICATION_WEBHOOK_TIMEOUT_S": "2",
    # The receivers are the harness's own, plain http on loopback (development only).
    "LT_NOTIFICATION_WEBHOOK_ALLOW_HTTP": "true",
    "LT_NOTIFICATION_WEBHOOK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "LT_NOTIFICATION_RETRY_INITIAL_S": "0.3",
    "LT_NOTIFICATION_RETRY_MAX_S": "2",
    "LT_NOTIFICATION_RETRY_JITTER_S": "0.1",
    "LT_NOTIFICATION_DISPATCH_POLL_INTERVAL_S": "0.3",
    "LT_NOTIFICATION_DISPATCH_LEASE_S": "10",
}


@dataclass(frozen=True)
class Scenario:
    name: str
    fault: faults.Fault
    platform: str  # "private" needs a broker and store of its own; the others share them


# Three platforms run side by side, their scenarios one after another: a kill -9 can
# leave a transaction open in the store until it expires (about a minute), and the
# matrix must stay within a few minutes.
SCENARIOS = (
    Scenario("no fault (control)", faults.nothing, "a"),
    Scenario("kill -9 intake, restart", faults.kill_and_restart("intake"), "a"),
    Scenario("kill -9 routing, restart", faults.kill_and_restart("routing"), "b"),
    Scenario("kill -9 notification, restart", faults.kill_and_restart("notification"), "a"),
    Scenario("kill -9 audit, restart", faults.kill_and_restart("audit"), "b"),
    Scenario("poison message on every topic", faults.poison_every_topic, "a"),
    Scenario("2x routing + 2x audit, one killed", faults.rebalance, "b"),
    Scenario("webhooks hang / answer 500", faults.webhooks_misbehave, "a"),
    Scenario("oversized outbox entry", faults.oversized_outbox_entry, "private"),
    Scenario("store slow (latency proxy)", faults.slow_store, "b"),
    Scenario("broker stopped, restarted", faults.broker_outage, "private"),
    Scenario("store stopped, restarted", faults.store_outage, "private"),
)
PLATFORMS = ("a", "b", "private")


@dataclass
class Row:
    """One scenario's line of the table."""

    scenario: str
    sent: int
    completed: int
    lost: int
    duplicated: int
    dead_letters: int
    recover_s: float
    settle_s: float
    notes: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and not self.findings


@dataclass
class Platform:
    """A running system and everything the checks and faults need of it."""

    system: System
    store: MongoSettings  # direct, for the harness
    checker: Checker
    proxy: LatencyProxy | None = None
    broker: PrivateInfra | None = None
    private_store: PrivateInfra | None = None
    receivers: dict[str, WebhookReceiver] = field(default_factory=dict)


@asynccontextmanager
async def platform(
    work: Path, mail: MailSink, receivers: dict[str, WebhookReceiver], *, private: bool
) -> AsyncIterator[Platform]:
    """Start a whole system (on private infrastructure if asked); tear it all down after."""
    await asyncio.to_thread(work.mkdir, parents=True, exist_ok=True)
    kafka, store = isolated_settings()
    kafka = kafka.model_copy(update={"topic_prefix": f"chaos-{kafka.topic_prefix}"})
    store = store.model_copy(update={"database_prefix": f"chaos_{store.database_prefix}"})
    broker = private_store = None
    if private:
        broker = PrivateInfra("kafka", work / "infra")
        private_store = PrivateInfra("store", work / "infra")
        started = await asyncio.gather(
            broker.start(), private_store.start(), return_exceptions=True
        )
        if failed := [r for r in started if isinstance(r, BaseException)]:
            await asyncio.gather(broker.stop(), private_store.stop(), return_exceptions=True)
            raise failed[0]  # neither is left running when one could not start
        kafka = kafka.model_copy(update={"bootstrap_servers": f"127.0.0.1:{broker.port}"})
        store = store.model_copy(
            update={"uri": f"mongodb://127.0.0.1:{private_store.port}/?directConnection=true"}
        )
    # The services reach the store through a proxy that can slow it down; the harness not.
    proxy = LatencyProxy(target_port=int(store.uri.split(":")[2].split("/")[0]))
    proxy.start()
    services_store = store.model_copy(
        update={"uri": f"mongodb://127.0.0.1:{proxy.port}/?directConnection=true"}
    )
    system = System(work, kafka, services_store, mail.port, dict(FAST_RECOVERY_ENV))
    client = httpx.AsyncClient(auth=UnitAuth("operations"))  # the checks read every view
    try:
        await ensure_topics(kafka)
        for service in SERVICES:
            system.instance(service)
        for service in SERVICES:
            system.start(service)
        took = await system.wait_ready()
        log.info("platform %s ready in %.0f s", work.name, took)
        urls = {service: system.url(service) for service in SERVICES}
        await _subscribe(client, urls["notification"], receivers)
        deliveries = [receiver.accepted for receiver in receivers.values()]
        checker = Checker(client, urls, mail.message_ids, work / "sms.log", deliveries)
        yield Platform(system, store, checker, proxy, broker, private_store, receivers)
    finally:
        try:  # whatever fails here, the private broker and store are stopped below
            stops = await asyncio.to_thread(system.stop_all)
            slow = {name: round(s, 1) for name, s in stops.items() if s > 30}
            if slow:
                log.warning("services slower to stop than compose's 30 s grace: %s", slow)
            await client.aclose()
            await drop_isolated(kafka, store)
        finally:
            proxy.stop()
            for infra in (broker, private_store):
                if infra is not None:
                    await infra.stop()
            if private:
                shutil.rmtree(work / "infra", ignore_errors=True)


async def _subscribe(
    client: httpx.AsyncClient, notification: str, receivers: dict[str, WebhookReceiver]
) -> None:
    for receiver in receivers.values():
        response = await client.post(
            f"{notification}/v1/subscriptions",
            headers=auth_headers("admin"),  # subscriptions to every unit's events
            json={
                "url": receiver.url,
                "event_types": ["dossier.done.v1"],
                "description": f"chaos {receiver.name} receiver",
            },
        )
        if response.status_code >= 400:
            raise RuntimeError(f"webhook subscription refused: {response.text}")


async def run_scenario(p: Platform, scenario: Scenario, serials: range) -> Row:
    """Drive the scenario's dossiers, inject its fault, check everything, make its row."""
    system, kafka = p.system, p.system.kafka
    letters_before = await dead_letters(kafka)
    journeys = [Journey(chaos_plan(s), denied=s % 7 == 3) for s in serials]
    # Each unit acts with its own agency client's token (the unit named in the body).
    async with httpx.AsyncClient(auth=UnitAuth("operations")) as client:
        driver = Driver(client, {s: system.url(s) for s in SERVICES}, load_catalogue())
        stage = faults.Stage(
            system=system,
            store=p.store,
            proxy=p.proxy,
            broker=p.broker,
            private_store=p.private_store,
            receivers=p.receivers,
            progress=lambda: sum(len(j.actions) for j in journeys),
        )
        driving = [
            asyncio.create_task(_later(driver.run(j), 0.5 * n)) for n, j in enumerate(journeys)
        ]
        await asyncio.wait_for(scenario.fault(stage), timeout=240)
        fault_over = time.monotonic()
        await system.wait_ready(SERVICES)
        recover_s = time.monotonic() - fault_over
        await asyncio.gather(*driving)
        outcomes = await settle(
            p.checker, journeys, kafka, sender_killed="notification" in stage.killed
        )
        settle_s = time.monotonic() - fault_over
    own, unexpected = await _dead_letters_since(kafka, letters_before, stage)
    letters = len(own)
    findings = list(stage.violations)
    if letters < stage.expected_dead_letters:
        origins = ", ".join(sorted(f"{group} on {topic}" for group, topic, *_ in own))
        findings.append(
            f"{letters} dead letters, expected {stage.expected_dead_letters} (from {origins})"
        )
    if unexpected:
        findings.append(f"{unexpected} unexpected dead letters")
    if resent := [r for o in outcomes for r in o.resent]:
        stage.notes.append(
            f"{len(resent)} message(s) sent again: taken by the channel, then the process "
            "was killed before the attempt was stored (the documented crash window; the "
            "copy has the same key)"
        )
    lost = [o for o in outcomes if o.lost]
    duplicated = [o for o in outcomes if o.duplicated]
    for o in lost + duplicated:
        findings.append(f"{o.code}: {'; '.join(o.lost + o.duplicated)}"[:300])
    return Row(
        scenario=scenario.name,
        sent=len(journeys),
        completed=len(journeys) - len(lost),
        lost=len(lost),
        duplicated=len(duplicated),
        dead_letters=letters + unexpected,
        recover_s=round(recover_s, 1),
        settle_s=round(settle_s, 1),
        notes=stage.notes,
        findings=findings,
    )


async def settle(
    checker: Checker, journeys: list[Journey], kafka: KafkaSettings, *, sender_killed: bool
) -> list[Outcome]:
    """Check until every dossier passes (effects are asynchronous) or the bound runs out."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        facts = await facts_by_dossier(kafka)
        outcomes = []
        for journey in journeys:
            try:
                facts_of = facts.get(journey.code or "", {})
                outcomes.append(await checker.check(journey, facts_of, sender_killed=sender_killed))
            except httpx.HTTPError as exc:
                outcomes.append(Outcome(journey.code, lost=[f"view unavailable: {exc!r}"]))
        if all(not o.lost and not o.duplicated for o in outcomes):
            return outcomes
        if time.monotonic() > deadline:
            return outcomes
        waiting = next(o for o in outcomes if o.lost or o.duplicated)
        log.info("  waiting for %s: %s", waiting.code, (waiting.lost + waiting.duplicated)[0])
        await asyncio.sleep(2)


async def _dead_letters_since(
    kafka: KafkaSettings, before: dict[DeadLetterId, str | None], stage: faults.Stage
) -> tuple[list[DeadLetterId], int]:
    """This scenario's dead letters (those with its fault's key) and the unexpected ones
    (with no fault's key) written since ``before``.

    Waits (bounded) for the expected ones: a consumer whose process was killed in an
    earlier scenario can be held up to a minute by the transaction it left open in the
    store, then reach its poison message late; a letter of an earlier fault arriving in a
    later scenario is not unexpected there.
    """
    deadline = time.monotonic() + 120
    while True:
        letters = await dead_letters(kafka)
        new = {letter: key for letter, key in letters.items() if letter not in before}
        own = [letter for letter, key in new.items() if key and key == stage.dead_letter_key]
        unexpected = sum(1 for key in new.values() if key not in faults.FAULT_KEYS)
        if len(own) >= stage.expected_dead_letters or time.monotonic() > deadline:
            return own, unexpected
        await asyncio.sleep(1)


async def _later(work: Any, delay: float) -> None:
    await asyncio.sleep(delay)  # a stream, not a burst: dossiers arrive one after another
    await work


async def run_matrix(work: Path, per_scenario: int, only: set[str] | None = None) -> list[Row]:
    """Every scenario (or those named): the shared and the private platform side by side."""
    mail = MailSink()
    mail.start()
    receivers = {name: WebhookReceiver(name) for name in ("hanging", "flaky")}
    for receiver in receivers.values():
        await receiver.start()
    try:
        groups = await asyncio.gather(
            *(
                _run_group(work, mail, receivers, name, n * 1000, per_scenario, only)
                for n, name in enumerate(PLATFORMS)
            )
        )
    finally:
        for receiver in receivers.values():
            await receiver.stop()
        mail.stop()
    by_name = {row.scenario: row for group in groups for row in group}
    return [by_name[s.name] for s in SCENARIOS if s.name in by_name]


async def _run_group(
    work: Path,
    mail: MailSink,
    receivers: dict[str, WebhookReceiver],
    name: str,
    serial: int,
    per_scenario: int,
    only: set[str] | None,
) -> list[Row]:
    """One platform's scenarios, one after another (each with its own dossiers)."""
    chosen = [s for s in SCENARIOS if s.platform == name and (not only or s.name in only)]
    if not chosen:
        return []
    rows: list[Row] = []
    async with platform(work / name, mail, receivers, private=name == "private") as p:
        for scenario in chosen:
            log.info("scenario: %s", scenario.name)
            row = await run_scenario(p, scenario, range(serial, serial + per_scenario))
            serial += per_scenario
            rows.append(row)
            log.info("%s: %s", scenario.name, "ok" if row.passed else row.findings)
    return rows
