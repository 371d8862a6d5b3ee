"""An app served over real HTTP for the duration of a test.

For what only a URL reaches: a service the console reads (``LT_CONSOLE_<SERVICE>_URL``,
with its own client's token, so an in-process client is not enough), a webhook
receiver notification posts to. The app runs under uvicorn on 127.0.0.1, with its
lifespan if it has one (consumers, dispatcher, relay).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Literal

import uvicorn
from starlette.types import ASGIApp

from shared.testing import eventually, free_port


class _QuietServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the test process keeps its own handlers
        yield


@contextlib.asynccontextmanager
async def served(
    app: ASGIApp, *, port: int | None = None, lifespan: Literal["on", "off"] = "on"
) -> AsyncIterator[str]:
    """The app's base URL while the block runs; its lifespan ends with the block."""
    port = port or free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan
    )
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
