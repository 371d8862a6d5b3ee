"""Rotating the wrapping key on the real store: the service given the new wrapping key and
the old one as previous reads every key, wraps new ones under the new key only, while
``python -m audit.wrap_keys --rotate`` re-wraps the old ones page by page beside it; a key
under a wrapping key not given is still refused; a second run changes nothing; a run
stopped midway leaves every key readable; and once none is left under the old key, the
service runs without it."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit import personal
from audit.config import AuditKeyWrapping
from audit.dossier_keys import DossierKeys, WrapPage
from audit.key_wrapping import KeyWrapping, UnknownWrappingKey, WrappingKeys
from audit.main import create_app
from audit.wrap_keys import WrapKeysSettings, rewrap_all
from audit.wrap_keys import run as run_command
from pydantic import SecretStr
from pymongo import AsyncMongoClient, MongoClient

from shared.clock import ManualClock
from shared.mongo.client import Client, Database, credentials
from shared.runtime import CommonSettings
from shared.testing import ActAs, running_app
from tests.integration.audit.helpers import logged, publish
from tests.integration.audit.journey import journey
from tests.integration.audit.test_erasure import with_personal_data
from tests.integration.audit.test_key_wrapping import SHOWN, personal_data_of, settings_with

OLD, NEW, UNKNOWN = bytes(range(32)), bytes(range(1, 33)), bytes(range(2, 34))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
STORED = [f"R-{n:02}" for n in range(10)]  # keys stored beside the journey's, for pages
REWRAP_THEM = (
    "dossier keys wrapped under a previous wrapping key: re-wrap them, "
    "python -m audit.wrap_keys --rotate"
)


def command_settings(common: CommonSettings, current: bytes, *previous: bytes) -> WrapKeysSettings:
    wrapping = AuditKeyWrapping(
        key_wrapping_key=SecretStr(current.hex()),
        previous_key_wrapping_keys=SecretStr(",".join(key.hex() for key in previous)),
    )
    return WrapKeysSettings(mongo=common.mongo, audit=wrapping)


async def store_keys(db: Database, under: bytes, subjects: list[str]) -> dict[str, bytes]:
    """Keys stored for ``subjects`` wrapped under ``under``, as the service stores them."""
    wrapping, made = KeyWrapping(under), {s: personal.new_dossier_key() for s in subjects}
    await db["dossier_keys"].insert_many(
        [
            {
                "_id": s,
                "key": wrapping.wrap(s, key),
                "wrapped_by": wrapping.id,
                "key_id": personal.key_id(key),
                "created_at": NOW,
                "erased_at": None,
            }
            for s, key in made.items()
        ]
    )
    return made


async def wrapped_by(db: Database) -> dict[str, str | None]:
    return {d["_id"]: d["wrapped_by"] async for d in db["dossier_keys"].find()}


@pytest.fixture
async def db(common_settings: CommonSettings) -> AsyncIterator[Database]:
    settings = common_settings.mongo
    client: Client = AsyncMongoClient(settings.uri, tz_aware=True, **credentials(settings))
    try:
        yield client[f"{settings.database_prefix}audit"]
    finally:
        await client.close()


async def test_rotation_beside_the_reading_service_then_without_the_old_key(
    common_settings: CommonSettings,
    clock: ManualClock,
    tmp_path: Path,
    db: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    code, new_code = "000.00.01.H59-261126-0201", "000.00.01.H59-261126-0202"
    events, later = with_personal_data(journey(code)), with_personal_data(journey(new_code))
    app = create_app(settings_with(common_settings, tmp_path, OLD), clock)
    async with running_app(app, ActAs("auditor")) as client:
        await publish(app, events)
        await logged(client, len(events))
        made: dict[str, bytes | None] = dict(await store_keys(db, OLD, STORED))
        made |= await DossierKeys(db, KeyWrapping(OLD)).keys({code})
    old, new = KeyWrapping(OLD), KeyWrapping(NEW)
    assert set((await wrapped_by(db)).values()) == {old.id}

    # The new wrapping key, the old one given as previous: every key still opens, and a
    # new dossier's key is wrapped under the new one only.
    rotating = settings_with(common_settings, tmp_path, NEW)
    rotating.audit.previous_key_wrapping_keys = SecretStr(OLD.hex())
    both = WrappingKeys(new, [old])
    app = create_app(rotating, clock)
    async with running_app(app, ActAs("auditor")) as client:
        assert REWRAP_THEM in caplog.messages
        assert await personal_data_of(client, 0) == SHOWN
        await publish(app, later)
        await logged(client, len(events) + len(later))
        assert (await wrapped_by(db))[new_code] == new.id
        made |= await DossierKeys(db, new).keys({new_code})

        reads: list[tuple[int, dict[str, str]]] = []

        class ReadBetweenPages(DossierKeys):
            """The service is read between every two pages of the rotation."""

            async def rewrap_old(self, limit: int, after: str | None = None) -> WrapPage:
                page = await super().rewrap_old(limit, after)
                answer = await client.get("/v1/audit/entries/0")
                history = await client.get(f"/v1/audit/dossiers/{code}")
                reads.append((history.status_code, answer.json().get("personal_data")))
                assert await DossierKeys(db, both).keys(set(made)) == made
                return page

        # Meanwhile the service erases one key and another run re-wraps another: each is
        # left as it is, not overwritten by the page that read it before.
        erased, taken = STORED[3], STORED[6]
        sync = MongoClient(common_settings.mongo.uri, **credentials(common_settings.mongo))
        keys_now = sync[db.name]["dossier_keys"]
        raced: dict[str, bytes] = {}

        class Racing(WrappingKeys):
            def rewrap(self, subject: str, wrapped: bytes, wrapped_by: str) -> bytes:
                rewrapped = super().rewrap(subject, wrapped, wrapped_by)
                if subject == erased:
                    keys_now.update_one(
                        {"_id": subject}, {"$set": {"key": None, "wrapped_by": None}}
                    )
                    made[subject] = None
                if subject == taken:
                    raced[subject] = super().rewrap(subject, wrapped, wrapped_by)
                    keys_now.update_one(
                        {"_id": subject}, {"$set": {"key": raced[subject], "wrapped_by": new.id}}
                    )
                return rewrapped

        out = io.StringIO()
        try:
            rewrapped = await rewrap_all(ReadBetweenPages(db, Racing(new, [old])), out, page_size=4)
        finally:
            sync.close()
        again = io.StringIO()
        settings = command_settings(common_settings, NEW, OLD)
        assert await run_command(settings, again, rotate=True) == 0  # idempotent
        assert await personal_data_of(client, 0) == SHOWN

    assert rewrapped == len(STORED) + 1 - 2  # all but the erased and the raced one
    assert reads == [(200, SHOWN)] * 3
    assert out.getvalue().splitlines() == [
        "re-wrapped 4 dossier keys (read 4, up to R-02)",
        "re-wrapped 6 dossier keys (read 8, up to R-06)",
        "re-wrapped 9 dossier keys (read 11, up to R-09)",
    ]
    assert again.getvalue() == (
        f"done: 0 dossier keys re-wrapped under wrapping key {new.id}; 0 left under other "
        "wrapping keys: the previous wrapping keys may be destroyed\n"
    )
    stored = {d["_id"]: d async for d in db["dossier_keys"].find()}
    assert stored[erased]["key"] is None and stored[erased]["wrapped_by"] is None
    assert bytes(stored[taken]["key"]) == raced[taken]
    assert {d["wrapped_by"] for s, d in stored.items() if s != erased} == {new.id}

    # The old key dropped: the service runs on the new one alone, every key opens.
    caplog.clear()
    app = create_app(settings_with(common_settings, tmp_path, NEW), clock)
    async with running_app(app, ActAs("auditor")) as client:
        assert REWRAP_THEM not in caplog.messages
        assert await personal_data_of(client, 0) == SHOWN
        assert await DossierKeys(db, new).keys(set(made)) == made  # the erased one: None


async def test_a_key_under_a_wrapping_key_not_given_is_still_refused(
    common_settings: CommonSettings, clock: ManualClock, tmp_path: Path, db: Database
) -> None:
    await store_keys(db, OLD, STORED[:3])
    await store_keys(db, UNKNOWN, ["U-1"])
    before = {d["_id"]: d async for d in db["dossier_keys"].find()}
    out = io.StringIO()
    with pytest.raises(UnknownWrappingKey) as refused:
        await run_command(command_settings(common_settings, NEW, OLD), out, rotate=True)
    said = str(refused.value)
    assert KeyWrapping(UNKNOWN).id in said and "U-1" in said
    assert KeyWrapping(NEW).id in said and KeyWrapping(OLD).id in said
    assert out.getvalue() == ""
    assert {d["_id"]: d async for d in db["dossier_keys"].find()} == before  # untouched

    settings = settings_with(common_settings, tmp_path, NEW)
    settings.audit.previous_key_wrapping_keys = SecretStr(OLD.hex())
    with pytest.raises(UnknownWrappingKey, match=f"{KeyWrapping(UNKNOWN).id}.*U-1"):
        async with running_app(create_app(settings, clock)):
            pass


class Crash(Exception):
    """The command stopped (killed, the machine lost) between two pages."""


async def test_a_rotation_stopped_midway_leaves_every_key_readable_and_resumes(
    common_settings: CommonSettings, db: Database
) -> None:
    made = await store_keys(db, OLD, STORED)
    old, new = KeyWrapping(OLD), KeyWrapping(NEW)

    class StoppedAfterAPage(DossierKeys):
        pages = 0

        async def rewrap_old(self, limit: int, after: str | None = None) -> WrapPage:
            if self.pages == 1:
                raise Crash
            self.pages += 1
            return await super().rewrap_old(limit, after)

    with pytest.raises(Crash):
        await rewrap_all(StoppedAfterAPage(db, WrappingKeys(new, [old])), io.StringIO(), 4)

    both = DossierKeys(db, WrappingKeys(new, [old]))
    assert await both.keys(set(STORED)) == made
    under = await wrapped_by(db)
    assert sorted(s for s, by in under.items() if by == new.id) == STORED[:4]
    assert await both.old_keys_left() == len(STORED) - 4
    with pytest.raises(UnknownWrappingKey):  # the old key is still needed: not dropped yet
        await DossierKeys(db, new).check_wrapping()

    out = io.StringIO()
    assert await run_command(command_settings(common_settings, NEW, OLD), out, rotate=True) == 6
    assert out.getvalue().splitlines()[-1].startswith("done: 6 dossier keys re-wrapped")
    assert "0 left under other wrapping keys" in out.getvalue()
    await DossierKeys(db, new).check_wrapping()
    assert await DossierKeys(db, new).keys(set(STORED)) == made


async def test_keys_in_clear_are_left_to_wrap_keys_and_counted_as_left(
    common_settings: CommonSettings, db: Database
) -> None:
    """--rotate re-wraps keys under previous wrapping keys only; keys in clear are the
    plain command's, and are not counted as under another wrapping key."""
    await store_keys(db, OLD, ["A-1"])
    await db["dossier_keys"].insert_one(
        {"_id": "C-1", "key": b"k" * 32, "wrapped_by": None, "created_at": NOW, "erased_at": None}
    )
    out = io.StringIO()
    assert await run_command(command_settings(common_settings, NEW, OLD), out, rotate=True) == 1
    under = await wrapped_by(db)
    assert under == {"A-1": KeyWrapping(NEW).id, "C-1": None}
    assert "1 dossier keys re-wrapped" in out.getvalue() and "0 left" in out.getvalue()


async def test_a_key_replaced_under_the_same_wrapping_key_after_it_was_read_is_left(
    common_settings: CommonSettings, db: Database
) -> None:
    """An instance still on the old wrapping key alone renews a key (after an erasure)
    between the read and the update: only the stored bytes differ, and that is enough
    for the update to leave it; the next run re-wraps the renewed key."""
    await store_keys(db, OLD, ["A-1"])
    old, new = KeyWrapping(OLD), KeyWrapping(NEW)
    renewed_key = personal.new_dossier_key()
    renewed = old.wrap("A-1", renewed_key)
    sync = MongoClient(common_settings.mongo.uri, **credentials(common_settings.mongo))

    class Renewing(WrappingKeys):
        def rewrap(self, subject: str, wrapped: bytes, wrapped_by: str) -> bytes:
            sync[db.name]["dossier_keys"].update_one({"_id": subject}, {"$set": {"key": renewed}})
            return super().rewrap(subject, wrapped, wrapped_by)

    try:
        page = await DossierKeys(db, Renewing(new, [old])).rewrap_old(10)
    finally:
        sync.close()
    assert (page.read, page.wrapped) == (["A-1"], 0)
    stored = await db["dossier_keys"].find_one({"_id": "A-1"})
    assert stored is not None
    assert (bytes(stored["key"]), stored["wrapped_by"]) == (renewed, old.id)

    both = DossierKeys(db, WrappingKeys(new, [old]))
    assert (await both.rewrap_old(10)).wrapped == 1
    assert await DossierKeys(db, new).keys({"A-1"}) == {"A-1": renewed_key}
