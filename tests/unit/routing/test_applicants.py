"""Routing asks intake for the applicant's name of a form; any failure leaves the line blank;
a dossier whose personal data intake erased is a known answer, not a failure.

httpx.MockTransport stands in for intake and records what routing asked; the real
exchange (routing's client token, intake's refusal of everyone else) is
tests/integration/intake/test_applicant_name.py.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from routing.applicants import ERASED, IntakeApplicantNames, NoApplicantNames

CODE = "000.00.31.H59-260302-0001"


def intake(handler: httpx.MockTransport) -> IntakeApplicantNames:
    return IntakeApplicantNames(httpx.AsyncClient(transport=handler), "http://intake:8001/")


async def test_the_name_intake_answers_is_the_name_on_the_form() -> None:
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"code": CODE, "name": "Nguyễn Văn An"})

    assert await intake(httpx.MockTransport(answer)).name_of(CODE) == "Nguyễn Văn An"
    assert asked == [f"http://intake:8001/v1/dossiers/{CODE}/applicant-name"]


async def test_a_refusal_a_miss_or_an_outage_leaves_the_line_blank() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"code": "forbidden"})

    def miss(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"code": "not_found"})

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    def empty(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"code": CODE, "name": "  "})

    for handler in (refuse, miss, down, garbled, empty):
        assert await intake(httpx.MockTransport(handler)).name_of(CODE) is None, handler


async def test_without_intake_configured_there_is_no_name() -> None:
    assert await NoApplicantNames().name_of(CODE) is None


async def test_an_erased_dossier_is_a_known_answer_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def erased(request: httpx.Request) -> httpx.Response:  # intake's answer, as it gives it
        problem = {
            "type": "urn:lienthong:problem:personal_data_erased",
            "status": 410,
            "code": "personal_data_erased",
            "erased_at": "2031-11-27T02:00:00Z",
        }
        return httpx.Response(
            410, json=problem, headers={"content-type": "application/problem+json"}
        )

    with caplog.at_level(logging.INFO, logger="routing.applicants"):
        assert await intake(httpx.MockTransport(erased)).name_of(CODE) is ERASED
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]

    def gone(request: httpx.Request) -> httpx.Response:  # a 410 that is not intake's answer
        return httpx.Response(410, text="gone")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="routing.applicants"):
        assert await intake(httpx.MockTransport(gone)).name_of(CODE) is None
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
