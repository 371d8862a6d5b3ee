"""A service the console reads, served over real HTTP for the duration of a test.

The console reads the services by URL (``LT_CONSOLE_<SERVICE>_URL``) with its own
client's token, so an in-process client is not enough: the app runs under uvicorn on a
free port of 127.0.0.1, with its lifespan (consumers, dispatcher, relay).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from shared.testing import eventually, free_port


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test process keeps its own handlers
        yield


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app's base URL while the block runs; its lifespan ends with the block."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()  # startup failed: raise its error
        return server.started

    await eventually(started, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
