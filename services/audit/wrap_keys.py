"""``python -m audit.wrap_keys``: wrap every dossier key still stored in clear.

Dossier keys stored by a version before key wrapping are the bare 32 bytes; the service
reads them as they are, so nothing breaks, but a copy of the store reads them too. This
command wraps each under ``LT_AUDIT_KEY_WRAPPING_KEY``, in pages of ``PAGE``, printing
its progress. It is idempotent (a key already wrapped is not read again) and may run
beside the service (a key erased or wrapped meanwhile is left as it is). Run it with the
audit service's environment (the same wrapping key and store).
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audit.config import AuditKeyWrapping, AuditSettings
from audit.dossier_keys import DossierKeys
from audit.key_wrapping import DEV_KEY_WRAPPING_WARNING
from shared.command_line import no_arguments
from shared.mongo.client import mongo_client, service_database
from shared.settings import MongoSettings

PAGE = 500
SERVICE = "audit"


class WrapKeysSettings(BaseSettings):
    """What the command reads: the store, and the wrapping key."""

    model_config = SettingsConfigDict(extra="ignore")

    mongo: MongoSettings = Field(default_factory=MongoSettings, description="Store.")
    audit: AuditKeyWrapping = Field(default_factory=AuditKeyWrapping, description="Wrapping.")


async def wrap_all(keys: DossierKeys, out: TextIO, page_size: int = PAGE) -> int:
    """Wrap every key stored in clear; how many were wrapped."""
    wrapped = read = 0
    after = None
    while True:
        page = await keys.wrap_clear(page_size, after)
        wrapped, read = wrapped + page.wrapped, read + len(page.read)
        if page.read:
            print(f"wrapped {wrapped} dossier keys (read {read}, up to {page.read[-1]})", file=out)
        if len(page.read) < page_size:
            return wrapped
        after = page.read[-1]


async def run(settings: WrapKeysSettings, out: TextIO) -> int:
    if settings.audit.development_key:
        print(DEV_KEY_WRAPPING_WARNING, file=sys.stderr)
    wrapping = settings.audit.wrapping()
    async with mongo_client(settings.mongo, "audit-wrap-keys") as client:
        keys = DossierKeys(service_database(client, settings.mongo, SERVICE), wrapping)
        await keys.check_wrapping()  # keys wrapped under another key: stop, say which
        wrapped = await wrap_all(keys, out)
    print(f"done: {wrapped} dossier keys wrapped under wrapping key {wrapping.id}", file=out)
    return wrapped


def main(argv: list[str] | None = None) -> None:
    no_arguments(
        "python -m audit.wrap_keys",
        "Wrap every dossier key the audit store still holds in clear under "
        "LT_AUDIT_KEY_WRAPPING_KEY (docs/audit.md, What is logged). Idempotent; safe "
        "beside the running service. Reads the audit service's environment (LT_MONGO_*, "
        "LT_AUDIT_KEY_WRAPPING_KEY).",
        argv,
    )  # --help says so, and touches nothing
    from shared.settings_env import read_settings

    settings = read_settings(WrapKeysSettings, SERVICE, names_of=AuditSettings)
    asyncio.run(run(settings, sys.stdout))


if __name__ == "__main__":
    main()
