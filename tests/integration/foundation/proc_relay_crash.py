"""Run as a separate process: write events, see them published, die before marking them sent."""

from __future__ import annotations

import asyncio
import os
import sys

from shared.kafka.admin import ensure_topics
from shared.runtime import CommonSettings, service_runtime
from shared.settings import KafkaSettings, MongoSettings, OutboxSettings
from shared.testing import read_topic
from shared.topics import DOSSIER_EVENTS
from tests.integration.foundation.counting import emit_withdrawn


async def main(topic_prefix: str, db_prefix: str, service: str, count: int) -> None:
    settings = CommonSettings(
        kafka=KafkaSettings(topic_prefix=topic_prefix),
        mongo=MongoSettings(database_prefix=db_prefix),
        # Marks wait a minute: the process dies well inside that window.
        outbox=OutboxSettings(mark_sent_linger_s=60, poll_interval_s=60),
    )
    await ensure_topics(settings.kafka)
    async with service_runtime(service, settings) as rt:
        for index in range(count):
            await emit_withdrawn(rt, f"K-{index}", "crash window")
        published = await read_topic(settings.kafka, DOSSIER_EVENTS, expect=count)
        pending = await rt.outbox.count_pending()
        print(f"published {len(published)}, pending {pending}; killed", flush=True)
        os._exit(17)  # published, never marked sent


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
