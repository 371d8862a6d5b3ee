"""``python -m audit.wrap_keys``: wrap every dossier key still stored in clear; with
``--rotate``, re-wrap every key wrapped under a previous wrapping key.

Dossier keys stored by a version before key wrapping are the bare 32 bytes; the service
reads them as they are, so nothing breaks, but a copy of the store reads them too. This
command wraps each under ``LT_AUDIT_KEY_WRAPPING_KEY``, in pages of ``PAGE``, printing
its progress. It is idempotent (a key already wrapped is not read again) and may run
beside the service (a key erased or wrapped meanwhile is left as it is). Run it with the
audit service's environment (the same wrapping key and store).

``--rotate``: after a new wrapping key was set with the old one in
``LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS``, re-wrap every key wrapped under a previous key
under the current one, in pages, each key in one conditional update (idempotent, safe
beside the service, and a stop midway leaves every key under a key given). It ends
saying how many live keys are still under another wrapping key than the current one:
none, and the previous keys may be destroyed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import PyMongoError

from audit.config import AuditKeyWrapping, AuditSettings
from audit.dossier_keys import DossierKeys, WrapPage
from audit.key_wrapping import DEV_KEY_WRAPPING_WARNING, DossierKeyUnreadable
from shared.mongo.client import mongo_client, service_database
from shared.settings import MongoSettings

PAGE = 500
SERVICE = "audit"


class WrapKeysSettings(BaseSettings):
    """What the command reads: the store, and the wrapping key."""

    model_config = SettingsConfigDict(extra="ignore")

    mongo: MongoSettings = Field(default_factory=MongoSettings, description="Store.")
    audit: AuditKeyWrapping = Field(default_factory=AuditKeyWrapping, description="Wrapping.")


async def _all_pages(
    next_page: Callable[[int, str | None], Awaitable[WrapPage]],
    verb: str,
    out: TextIO,
    page_size: int,
) -> int:
    """Take pages until one is short, printing the progress; how many keys were wrapped."""
    wrapped = read = 0
    after = None
    while True:
        page = await next_page(page_size, after)
        wrapped, read = wrapped + page.wrapped, read + len(page.read)
        if page.read:
            print(f"{verb} {wrapped} dossier keys (read {read}, up to {page.read[-1]})", file=out)
        if len(page.read) < page_size:
            return wrapped
        after = page.read[-1]


async def wrap_all(keys: DossierKeys, out: TextIO, page_size: int = PAGE) -> int:
    """Wrap every key stored in clear; how many were wrapped."""
    return await _all_pages(keys.wrap_clear, "wrapped", out, page_size)


async def rewrap_all(keys: DossierKeys, out: TextIO, page_size: int = PAGE) -> int:
    """Re-wrap under the current wrapping key every key wrapped under a previous one;
    how many were re-wrapped."""
    return await _all_pages(keys.rewrap_old, "re-wrapped", out, page_size)


async def run(settings: WrapKeysSettings, out: TextIO, rotate: bool = False) -> int:
    """Wrap the keys in clear (or, ``rotate``, re-wrap those under previous wrapping
    keys); how many were (re-)wrapped."""
    if settings.audit.development_key:
        print(DEV_KEY_WRAPPING_WARNING, file=sys.stderr)
    wrapping = settings.audit.wrapping()
    async with mongo_client(settings.mongo, "audit-wrap-keys") as client:
        keys = DossierKeys(service_database(client, settings.mongo, SERVICE), wrapping)
        await keys.check_wrapping()  # keys wrapped under a key not given: stop, say which
        if not rotate:
            wrapped = await wrap_all(keys, out)
            done = f"done: {wrapped} dossier keys wrapped under wrapping key {wrapping.id}"
        else:
            wrapped = await rewrap_all(keys, out)
            left = await keys.old_keys_left()
            done = (
                f"done: {wrapped} dossier keys re-wrapped under wrapping key {wrapping.id}; "
                f"{left} left under other wrapping keys"
            )
            if left == 0:
                done += ": the previous wrapping keys may be destroyed"
    print(done, file=out)
    return wrapped


def arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line, read (``--help`` answered, anything else refused) before
    anything starts, as ``shared.command_line`` does for the commands without options."""
    parser = argparse.ArgumentParser(
        prog="python -m audit.wrap_keys",
        allow_abbrev=False,  # "--r" or a typo of another option is refused, not --rotate
        description="Wrap every dossier key the audit store still holds in clear under "
        "LT_AUDIT_KEY_WRAPPING_KEY (docs/audit.md, What is logged). Idempotent; safe "
        "beside the running service. Reads the audit service's environment (LT_MONGO_*, "
        "LT_AUDIT_KEY_WRAPPING_KEY, LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS).",
    )
    parser.add_argument(
        "--rotate",
        action="store_true",
        help="instead, re-wrap under LT_AUDIT_KEY_WRAPPING_KEY every key wrapped under one "
        "of LT_AUDIT_PREVIOUS_KEY_WRAPPING_KEYS, and say how many are left under other keys",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    rotate = arguments(argv).rotate  # --help says so, and touches nothing
    from shared.settings_env import read_settings

    settings = read_settings(WrapKeysSettings, SERVICE, names_of=AuditSettings)
    try:
        asyncio.run(run(settings, sys.stdout, rotate=rotate))
    except DossierKeyUnreadable as refused:  # a key not given, or altered: say which
        sys.exit(f"python -m audit.wrap_keys: stopped: {refused}")
    except PyMongoError as failed:  # unreachable, refused the user, lost: say so, no traceback
        sys.exit(
            "python -m audit.wrap_keys: stopped: the audit store could not be reached or "
            f"written ({type(failed).__name__}: {failed}); each key is left as it was or "
            "done: run it again"
        )


if __name__ == "__main__":
    main()
