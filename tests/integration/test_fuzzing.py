"""The fuzz harness's own check (``tests.integration.fuzzing``): a refused request that
changes a document already there (no insert, so the collections' counts stay) fails the
fuzz run; one that writes nothing, beside a background write of a lease, passes. Against
the real store."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from hypothesis import strategies as st

from shared.http import PROBLEM_JSON
from shared.mongo.client import Database, mongo_client, service_database
from shared.runtime import CommonSettings
from tests.integration.fuzzing import Request, fuzz, operations

REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "refused", "content": {PROBLEM_JSON: {}}}
}


def refusing_app(db: Database, *, writes: bool) -> FastAPI:
    """One operation, always refused; it first changes a stored document if ``writes``,
    and renews a lease either way (a worker's heartbeat, not the request's doing)."""
    app = FastAPI()

    @app.post("/v1/things/{name}", responses=REFUSED)
    async def touch(name: str) -> Response:
        await db["leases"].update_one({"_id": "worker"}, {"$inc": {"beats": 1}}, upsert=True)
        if writes:
            await db["things"].update_one({"_id": "kept"}, {"$inc": {"touched": 1}})
        problem = {"type": "about:blank", "title": "refused", "status": 409, "code": "refused"}
        return Response(json.dumps(problem), status_code=409, media_type=PROBLEM_JSON)

    return app


@pytest.mark.parametrize("writes", [True, False])
async def test_a_refused_request_that_changes_a_document_fails_the_fuzz_run(
    common_settings: CommonSettings, writes: bool
) -> None:
    async with mongo_client(common_settings.mongo, "fuzz-check") as client:
        db = service_database(client, common_settings.mongo, "fuzzcheck")
        await db["things"].insert_one({"_id": "kept", "touched": 0})
        app = refusing_app(db, writes=writes)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://fuzz") as http:
            # One request, always the same: nothing for hypothesis to search or shrink.
            (operation,) = operations((await http.get("/openapi.json")).json())
            case = operation.Case(path_parameters={"name": "drawn"})
            drawn = st.just(Request("POST", case.formatted_path, [], {}, None, case))
            if writes:
                with pytest.raises(AssertionError, match="refused, yet written"):
                    await fuzz(http, drawn, examples=5, store=db)
            else:
                assert set(await fuzz(http, drawn, examples=5, store=db)) == {409}
        assert await db["things"].count_documents({}) == 1  # counts alone see nothing
