"""The retention erases the personal data of dossiers closed long enough ago, in the real
store, and what the look-up, the forms and the applicant's name answer afterwards; each
erasure is a fact, published once and logged by audit in the dossier's history.

The clock is intake's manual clock: dossiers are taken on 26 November 2026, closed by
facts at chosen times, then the clock jumps past the five years of retention.
"""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from audit.main import create_app as create_audit_app
from intake.erasure import Eraser
from intake.forms import ERASED_ROW
from intake.handlers import apply_dossier_facts
from intake.model import ERASED

from shared.clock import ManualClock
from shared.events.dossier import DossierFact
from shared.events.erasure import PersonalDataErased
from shared.events.registry import make_envelope, parse_data
from shared.runtime import CommonSettings
from shared.testing import ActAs, auth_headers, eventually, running_app
from tests.integration.audit.helpers import audit_settings_for, checkpointed
from tests.integration.intake.helpers import (
    DESK,
    IDENTITY_NUMBER,
    MORNING,
    RunningIntake,
    submission,
)
from tests.samples import done, result_ready, step_overdue

NAME = "Nguyễn Văn An"
RETENTION = timedelta(days=1825)


async def taken(
    intake: RunningIntake, path: str = "/v1/dossiers", **changes: Any
) -> tuple[str, str]:
    answer = await intake.client.post(path, json=submission(**changes))
    assert answer.status_code == 201, answer.text
    return answer.json()["code"], answer.json()["lookup_token"]


async def apply(intake: RunningIntake, fact: DossierFact, after: timedelta) -> None:
    """A fact from routing, at ``MORNING + after``, applied as intake's consumer does."""
    envelope = make_envelope(fact, source="/lienthong/routing", time=MORNING + after)
    async with intake.ctx.runtime.unit_of_work(envelope) as uow:
        await apply_dossier_facts([(envelope, fact)], uow, store=intake.ctx.store)


def eraser(intake: RunningIntake) -> Eraser:
    """An erasure task of this intake (the test runs its passes)."""
    return Eraser(
        units=intake.ctx.runtime.units,
        store=intake.ctx.store,
        options=intake.settings.intake,
        clock=intake.clock,
    )


async def stored(intake: RunningIntake, code: str) -> dict[str, Any]:
    document = await intake.ctx.runtime.db["dossiers"].find_one({"_id": code})
    assert document is not None
    return document


async def test_closed_dossiers_past_retention_are_erased_once_and_the_rest_kept(
    intake: RunningIntake,
) -> None:
    done_long_ago, token = await taken(intake)
    await apply(intake, done(done_long_ago), timedelta(hours=1))
    denied_long_ago, denied_token = await taken(
        intake, "/v1/dossiers/denials", reason=f"Thiếu giấy tờ của {NAME}"
    )
    done_lately, _ = await taken(intake)
    await apply(intake, done(done_lately), timedelta(days=400))
    running, _ = await taken(intake)  # RECEIVED, never closed
    awaiting, _ = await taken(intake)
    await apply(intake, result_ready(awaiting), timedelta(hours=2))  # awaiting collection
    untouched = {code: await stored(intake, code) for code in (done_lately, running, awaiting)}

    intake.clock.set(MORNING + RETENTION + timedelta(days=1))
    one, two = eraser(intake), eraser(intake)
    first, second = await asyncio.gather(one.erase_due(), two.erase_due())  # two instances

    assert sorted(first + second) == sorted([done_long_ago, denied_long_ago])  # once each
    for code in (done_long_ago, denied_long_ago):
        document = await stored(intake, code)
        text = repr(document)
        assert NAME not in text and IDENTITY_NUMBER not in text and "0912345678" not in text
        assert document["applicant"]["name"] == ERASED
        assert document["personal_data_erased_at"] is not None
        assert document["_id"] == code and document["receiving_unit"] == DESK
    assert (await stored(intake, done_long_ago))["state"] == "DONE"
    assert (await stored(intake, denied_long_ago))["refusal"]["reason"] == ERASED
    for code, before in untouched.items():
        assert await stored(intake, code) == before, code

    after_first = {c: await stored(intake, c) for c in (done_long_ago, denied_long_ago)}
    assert await one.erase_due() == []  # a second pass changes nothing
    for code, document in after_first.items():
        assert await stored(intake, code) == document

    # A late fact about an erased dossier moves nothing back in.
    await apply(intake, step_overdue(done_long_ago), timedelta(minutes=30))
    assert (await stored(intake, done_long_ago))["applicant"]["name"] == ERASED

    # The look-up: the dossier, its state and steps, and when its data were erased.
    view = await intake.client.get(
        f"/v1/dossiers/{done_long_ago}", headers={"X-Lookup-Token": token}
    )
    assert view.status_code == 200, view.text
    assert view.json()["state"] == "DONE" and view.json()["personal_data_erased_at"]
    assert view.json()["history"] and NAME not in view.text and ERASED not in view.text
    denied_view = await intake.client.get(
        f"/v1/dossiers/{denied_long_ago}", headers={"X-Lookup-Token": denied_token}
    )
    assert denied_view.json()["state"] == "DENIED" and denied_view.json()["refusal"] is None

    # The forms: 410 with the token, the same 404 as ever without it.
    for code, number, secret in (
        (done_long_ago, "01", token), (denied_long_ago, "03", denied_token),
    ):  # fmt: skip
        form = await intake.client.get(
            f"/v1/dossiers/{code}/forms/{number}", headers={"X-Lookup-Token": secret}
        )
        assert form.status_code == 410, form.text
        assert form.headers["content-type"].startswith("application/problem+json")
        assert form.json()["code"] == "personal_data_erased" and form.json()["erased_at"]
        assert (await intake.client.get(f"/v1/dossiers/{code}/forms/{number}")).status_code == 404

    # The name for routing's forms: 410; a dossier still kept answers as before.
    routing = auth_headers("service:routing")
    path = "/v1/dossiers/{}/applicant-name"
    gone = await intake.client.get(path.format(done_long_ago), headers=routing)
    assert gone.status_code == 410 and gone.json()["code"] == "personal_data_erased"
    kept = await intake.client.get(path.format(running), headers=routing)
    assert kept.status_code == 200 and kept.json()["name"] == NAME

    # The desk's log book of that day: erased rows say so, the others are as they were.
    day = MORNING.date().isoformat()
    book = await intake.client.get(f"/v1/units/{DESK}/forms/06", params={"start": day, "end": day})
    assert book.status_code == 200, book.text
    assert book.text.count(ERASED_ROW) == 1  # the refused one was never received
    assert done_long_ago in book.text and running in book.text and NAME in book.text


async def test_a_pass_reads_only_dossiers_due_through_the_index(intake: RunningIntake) -> None:
    closed_early, _ = await taken(intake)
    await apply(intake, done(closed_early), timedelta(hours=1))
    intake.clock.set(MORNING + RETENTION + timedelta(days=1))
    assert await eraser(intake).erase_due() == [closed_early]

    # The candidate query of the next pass: the index serves it in order, without a sort,
    # and the erased dossier has left its range: nothing is read.
    cutoff = intake.clock.now() - RETENTION
    explained = await intake.ctx.runtime.db.command(
        "explain",
        {
            "find": "dossiers",
            "filter": {
                "personal_data_erased_at": None,
                "state": "DONE",
                "applied_up_to": {"$lt": cutoff},
            },
            "sort": {"applied_up_to": 1, "_id": 1},
            "limit": 100,
        },
        verbosity="executionStats",
    )
    plan = repr(explained["queryPlanner"]["winningPlan"])
    assert "erasure_candidates" in plan and "'SORT'" not in plan
    assert explained["executionStats"]["totalDocsExamined"] == 0


async def test_an_erasure_is_a_fact_published_once_and_logged_in_the_dossiers_history(
    intake: RunningIntake, common_settings: CommonSettings, tmp_path: Path
) -> None:
    """Two instances race; the erasure is one fact, in the erasure's transaction, which
    names nothing personal, and the audit log holds it in the dossier's history, where it
    does not put off audit's own erasure (counted from the dossier's last other entry)."""
    code, _ = await taken(intake)
    kept, _ = await taken(intake)  # still running: neither erased nor announced
    await apply(intake, done(code), timedelta(hours=1))
    settings = audit_settings_for(common_settings, tmp_path / "key.pem")
    settings.audit.erasure_poll_seconds = 3600  # audit's own erasure stays out of this test
    audit_clock = ManualClock(MORNING + timedelta(hours=2))
    audit = create_audit_app(settings, audit_clock)
    async with running_app(audit, ActAs("auditor")) as auditor:

        async def history(wanted: str) -> list[dict[str, Any]] | None:
            answer = await auditor.get(f"/v1/audit/dossiers/{code}")
            if answer.status_code == 404:  # nothing logged about it yet
                return None
            entries: list[dict[str, Any]] = answer.json()["entries"]
            return entries if wanted in [entry["event_type"] for entry in entries] else None

        # The reception is logged now; the erasure will be, five years later.
        await eventually(partial(history, "dossier.received.v2"), timeout=60)  # group join
        audit_clock.set(MORNING + RETENTION + timedelta(days=1, hours=1))
        intake.clock.set(MORNING + RETENTION + timedelta(days=1))
        first, second = await asyncio.gather(eraser(intake).erase_due(), eraser(intake).erase_due())
        assert first + second == [code]

        published = await intake.published(expect=3)  # two receptions and one erasure
        erasures = [e for e in published if e.type == PersonalDataErased.EVENT_TYPE]
        assert len(erasures) == 1, [e.type for e in published]
        [event] = erasures
        assert event.subject == code and event.source == "/lienthong/intake"
        fact = parse_data(event)
        assert isinstance(fact, PersonalDataErased)
        assert fact.erased_at == MORNING + RETENTION + timedelta(days=1)
        assert fact.state == "DONE" and fact.retention_days == RETENTION.days
        assert fact.closed_at == MORNING + timedelta(hours=1)
        text = event.to_bytes().decode()
        assert NAME not in text and IDENTITY_NUMBER not in text and "0912345678" not in text
        assert (await stored(intake, kept))["personal_data_erased_at"] is None

        entries = await eventually(partial(history, PersonalDataErased.EVENT_TYPE))
        logged = [e for e in entries if e["event_type"] == PersonalDataErased.EVENT_TYPE]
        assert len(logged) == 1 and logged[0]["event_id"] == event.id
        assert logged[0]["event"]["data"]["dossier_code"] == code
        await checkpointed(auditor, audit_clock, logged[0]["index"] + 1)
        bundle = await auditor.get(f"/v1/audit/dossiers/{code}/bundle")
        assert bundle.status_code == 200, bundle.text
        assert event.id in json.dumps(bundle.json())

        # Audit's retention counts from the reception, not from intake's erasure record:
        # the dossier's key in the log is due now, not five years after intake erased.
        assert code in await audit.state.eraser.erase_due()
