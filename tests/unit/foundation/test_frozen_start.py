"""A served app moves what its start built out of the garbage collector's sight."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.app import freeze_after_start


async def test_what_the_start_built_is_frozen_once_the_app_runs() -> None:
    built: list[object] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        built.append({"catalogue": [object() for _ in range(100)]})
        yield
        built.clear()

    app = FastAPI(lifespan=lifespan)
    freeze_after_start(app)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
            assert built  # the service's own start ran first
        assert frozen > 100
        assert not built  # and its stop after
    finally:
        gc.unfreeze()
