"""The dossier keys are stored wrapped, on the real store: a copy of audit's database reads
no key, the API still shows the personal fields in clear, keys stored in clear by an
earlier version keep working until ``python -m audit.wrap_keys`` wraps them, and a key
wrapped under a wrapping key the service is not given stops its start."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from audit import personal
from audit.config import AuditSettings
from audit.dossier_keys import DossierKeys
from audit.key_wrapping import KeyWrapping, UnknownWrappingKey
from audit.main import create_app
from audit.wrap_keys import WrapKeysSettings, wrap_all
from audit.wrap_keys import run as run_command
from pydantic import SecretStr

from shared.clock import ManualClock
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import audit_settings_for, logged, publish
from tests.integration.audit.journey import journey
from tests.integration.audit.test_erasure import NAME, NOTE, PHONE, with_personal_data

WRAPPING_KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))


def settings_with(common: CommonSettings, tmp_path: Path, wrapping_key: bytes) -> AuditSettings:
    settings = audit_settings_for(common, tmp_path / "key.pem")
    settings.audit.key_wrapping_key = SecretStr(wrapping_key.hex())
    settings.audit.erasure_poll_seconds = 3600  # no erasure in these tests
    return settings


async def personal_data_of(client: httpx.AsyncClient, index: int) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(f"/v1/audit/entries/{index}")).json()
    return dict(found["personal_data"])


SHOWN = {
    "data.applicant.identity_hash": "b" * 64,
    "data.applicant.name": NAME,
    "data.applicant.phone": PHONE,
    "data.documents.0.name": "Đơn đề nghị",
    "data.note": NOTE,
}


async def test_the_store_holds_the_key_wrapped_and_the_api_shows_the_fields(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    code = "000.00.01.H59-261126-0101"
    events = with_personal_data(journey(code))
    app = create_app(settings_with(common_settings, tmp_path, WRAPPING_KEY), clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events)
        await logged(client, len(events))
        shown = await personal_data_of(client, 0)
        stored = await app.state.runtime.db["dossier_keys"].find_one({"_id": code})
        entry = await app.state.runtime.db["entries"].find_one({"_id": 0})

    assert shown == SHOWN
    wrapping = KeyWrapping(WRAPPING_KEY)
    key = wrapping.unwrap(code, bytes(stored["key"]), stored["wrapped_by"])
    # What the store holds is not the key: it opens no sealed field; the wrapping key's id
    # is beside it, and the key's own id still names the key that sealed the entry.
    assert stored["wrapped_by"] == wrapping.id and bytes(stored["key"]) != key
    assert len(stored["key"]) != len(key) and key not in bytes(stored["key"])
    assert stored["key_id"] == personal.key_id(key)
    logged_event = json.loads(entry["canonical"])
    sealed = personal.unseal(logged_event, bytes(stored["key"])[: len(key)])
    assert sealed == {path: {"erased": True} for path in SHOWN}
    assert personal.unseal(logged_event, key) == SHOWN


async def test_keys_in_clear_keep_working_until_wrapped_and_after(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    code = "000.00.01.H59-261126-0102"
    events = with_personal_data(journey(code))
    settings = settings_with(common_settings, tmp_path, WRAPPING_KEY)
    wrapping = KeyWrapping(WRAPPING_KEY)
    app = create_app(settings, clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events[:3])
        await logged(client, 3)
        keys = app.state.runtime.db["dossier_keys"]
        # As an earlier version stored them: the bare key, no wrapping key's id.
        stored = await keys.find_one({"_id": code})
        key = wrapping.unwrap(code, bytes(stored["key"]), stored["wrapped_by"])
        await keys.update_one({"_id": code}, {"$set": {"key": key, "wrapped_by": None}})
        await keys.insert_one({**stored, "_id": "older", "key": b"k" * 32, "wrapped_by": None})

    app = create_app(settings, clock)  # restarted: nothing remembered of the key
    async with running_app(app, ActAs("auditor")) as client:
        assert await personal_data_of(client, 0) == SHOWN
        await publish(app, events[3:])  # sealed under the same (clear) key
        late = [e for e in await logged(client, len(events)) if "personal_data" in e]
        assert len(late) > 1 and {e["index"] for e in late} > {0}
        assert all({"erased": True} not in e["personal_data"].values() for e in late)

        out = io.StringIO()
        dossier_keys = DossierKeys(app.state.runtime.db, wrapping)
        assert await dossier_keys.clear_keys_left()
        assert await wrap_all(dossier_keys, out, page_size=1) == 2
        again = io.StringIO()  # the command itself, run again: idempotent
        command = WrapKeysSettings(mongo=settings.mongo, audit=settings.audit.model_dump())
        assert await run_command(command, again) == 0
        assert not await dossier_keys.clear_keys_left()
        wrapped = await app.state.runtime.db["dossier_keys"].find_one({"_id": code})
        still_shown = await personal_data_of(client, 0)

    assert out.getvalue().splitlines() == [
        "wrapped 1 dossier keys (read 1, up to 000.00.01.H59-261126-0102)",
        "wrapped 2 dossier keys (read 2, up to older)",
    ]
    assert again.getvalue() == f"done: 0 dossier keys wrapped under wrapping key {wrapping.id}\n"
    assert wrapped["wrapped_by"] == wrapping.id and bytes(wrapped["key"]) != key
    assert wrapping.unwrap(code, bytes(wrapped["key"]), wrapped["wrapped_by"]) == key
    assert still_shown == SHOWN

    app = create_app(settings, clock)  # and after a restart, from the wrapped key
    async with running_app(app, ActAs("auditor")) as client:
        assert await personal_data_of(client, 0) == SHOWN


async def test_keys_wrapped_under_a_wrapping_key_not_given_stop_the_start(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path
) -> None:
    code = "000.00.01.H59-261126-0103"
    events = with_personal_data(journey(code))[:2]
    app = create_app(settings_with(common_settings, tmp_path, WRAPPING_KEY), clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events)
        await logged(client, 2)
        # Read by one given another wrapping key (another instance, a copy of the store):
        # refused, saying so, never read as an erased key.
        with pytest.raises(UnknownWrappingKey, match="LT_AUDIT_KEY_WRAPPING_KEY"):
            await DossierKeys(app.state.runtime.db, KeyWrapping(OTHER_KEY)).keys({code})
        # Met by the API (a key restored from elsewhere): a problem that says so, not
        # the fields shown as erased.
        keys = app.state.runtime.db["dossier_keys"]
        await keys.update_one({"_id": code}, {"$set": {"wrapped_by": "0badc0de"}})
        answer = await client.get("/v1/audit/entries/0")
        history = await client.get(f"/v1/audit/dossiers/{code}")
        wrapped_by = KeyWrapping(WRAPPING_KEY).id
        await keys.update_one({"_id": code}, {"$set": {"wrapped_by": wrapped_by}})
        assert await personal_data_of(client, 0) == SHOWN

    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "dossier_key_unreadable"
    assert "0badc0de" in answer.json()["detail"] and "erased" not in answer.text
    assert (history.status_code, history.json()["code"]) == (503, "dossier_key_unreadable")

    other = settings_with(common_settings, tmp_path, OTHER_KEY)
    with pytest.raises(UnknownWrappingKey, match=f"{KeyWrapping(WRAPPING_KEY).id}.*{code}"):
        async with running_app(create_app(other, clock)):
            pass
