"""Run as a separate process: handle records, then die before committing any offset."""

from __future__ import annotations

import asyncio
import os
import sys

from shared.kafka.admin import ensure_topics
from shared.runtime import CommonSettings, service_runtime
from shared.settings import KafkaSettings, MongoSettings
from shared.topics import DOSSIER_EVENTS
from tests.integration.foundation.counting import counting_handler, on_withdrawn


async def main(topic_prefix: str, db_prefix: str, expected: int) -> None:
    settings = CommonSettings(
        kafka=KafkaSettings(topic_prefix=topic_prefix),
        mongo=MongoSettings(database_prefix=db_prefix),
    )
    await ensure_topics(settings.kafka)
    async with service_runtime("counting", settings) as rt:
        runner = rt.add_consumer([DOSSIER_EVENTS], on_withdrawn(counting_handler(rt.db)))

        commit = runner.commit_processed

        async def die_instead_of_committing(only: object) -> None:
            if runner.uncommitted >= expected:
                print("killed before commit", flush=True)
                os._exit(17)  # effects are stored; offsets are not
            if runner.uncommitted == 0:
                await commit(only)  # type: ignore[arg-type]  # the empty initial revoke

        runner.commit_processed = die_instead_of_committing  # type: ignore[method-assign]
        await runner.start()
        while True:
            await runner.process_batch(timeout_ms=500)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
