"""HTTP routes of a witness: the tlog-witness ``add-checkpoint`` call and read-only views."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from shared.http import problem
from shared.refusals import Refused
from shared.transparency.witness_protocol import SIZE_CONTENT_TYPE
from witness.handlers import Witness

router = APIRouter(tags=["witness"])
# Guarded in main: only the log's submitter may ask for cosignatures.
submit_router = APIRouter(tags=["witness"])
MAX_REQUEST_BYTES = 64 * 1024
STATUS: dict[str, int] = {  # the witness's one table: refusal code -> HTTP status (tlog-witness)
    "malformed_request": 400,
    "not_a_checkpoint": 400,
    "old_size_too_large": 400,
    "unverified_checkpoint": 403,
    "unknown_log": 404,
    "stale_old_size": 409,  # answered as text/x.tlog.size, the protocol's form
    "log_fork": 409,
    "log_rewrite": 422,
    "proof_not_empty": 422,  # a proof from size 0 that is not empty does not verify
    "log_bad_empty_tree": 422,  # a size-0 tree whose root is not the empty tree's
    # The witness's time policy for the platform's log (not the protocol's): 422 too.
    "checkpoint_time_invalid": 422,
    "checkpoint_time_backwards": 422,
    "checkpoint_time_ahead": 422,
}


def witness_of(request: Request) -> Witness:
    found: Witness = request.app.state.witness
    return found


@submit_router.post(
    "/add-checkpoint",
    summary="Cosign a checkpoint proven consistent with the last one cosigned (tlog-witness)",
    response_class=PlainTextResponse,
)
async def add_checkpoint(request: Request) -> Response:
    body = await request.body()
    if len(body) > MAX_REQUEST_BYTES:
        return problem(413, "body_too_large", f"more than {MAX_REQUEST_BYTES} bytes")
    try:
        lines = await witness_of(request).add_checkpoint(body)
    except Refused as refusal:
        if refusal.code == "stale_old_size":  # the protocol's answer: our size, as text
            return PlainTextResponse(
                f"{refusal.extra['known_size']}\n",
                status_code=STATUS[refusal.code],
                media_type=SIZE_CONTENT_TYPE,
            )
        raise  # problem+json, status from STATUS
    return PlainTextResponse(lines)


@router.get("/vkey", summary="The witness's verifier key (cosignature/v1)")
async def vkey(request: Request) -> PlainTextResponse:
    return PlainTextResponse(witness_of(request).signer.verifier.vkey() + "\n")


@router.get("/state", summary="Latest checkpoint cosigned per log, and refused ones (evidence)")
async def state(request: Request) -> dict[str, Any]:
    return witness_of(request).state.view()
