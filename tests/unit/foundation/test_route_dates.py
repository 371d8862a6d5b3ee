"""Every date or datetime a route takes from outside (query, path, header, body, however
deep in the body) refuses values outside 1900-01-01..9000-12-31 as a validation error:
an unbounded one answered 500 (an overflow in date arithmetic, or a moment the store
cannot encode). A route added with a plain ``date`` or ``datetime`` fails here."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, get_args

import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import (
    AwareDatetime,
    BaseModel,
    FutureDate,
    FutureDatetime,
    NaiveDatetime,
    PastDate,
    PastDatetime,
    TypeAdapter,
    ValidationError,
)
from pydantic.fields import FieldInfo

from shared.time_bounds import OUT_OF_RANGE

SERVICES = Path(__file__).resolve().parents[3] / "services"
DATE_PROBES = ["0001-01-01", "1899-12-31", "9001-01-01", "9999-12-31"]
MOMENT_PROBES = [
    "0001-01-01T00:00:00+01:00",
    "1899-12-31T23:00:00Z",
    "9000-12-31T23:00:00-05:00",
    "9999-12-31T23:00:00-05:00",
]
# pydantic's constrained dates and moments, classes of their own at run time.
PYDANTIC_DATES = {PastDate, FutureDate}
PYDANTIC_MOMENTS = {AwareDatetime, NaiveDatetime, PastDatetime, FutureDatetime}
# Body fields of routing/api_procedures.py, which another change is turning into aware
# datetimes: they need ``BoundedDate`` and ``AwareBoundedDatetime`` from
# shared/time_bounds.py. Listed so that this test holds until then, and fails once
# they are bounded (remove them from here then).
BOUNDED_LATE = {  # found by the scan too
    "POST /v1/dossiers/{code}/apology body.new_appointment_date",
    "POST /v1/dossiers/{code}/payment/confirm body.paid_at",
    "POST /v1/payments/callback body.paid_at",
}
# Inputs this test must find, so that a scan that finds nothing does not pass.
KNOWN_INPUTS = {
    "GET /v1/flows query.since",
    "GET /v1/flows query.until",
    "GET /v1/audit/entries query.since",
    "GET /v1/units query.in_force_on",
    "GET /v1/procedures query.in_force_on",
    "GET /v1/units/{unit}/forms/06 query.start",
    "GET /v1/units/{unit}/forms/06 query.end",
    "GET /api/flows query.since",
}


def routes() -> Iterator[APIRoute]:
    """The routes of every ``services/*/api*.py`` module's routers."""
    routers: dict[int, APIRouter] = {}
    for path in sorted(SERVICES.glob("*/api*.py")):
        module = importlib.import_module(f"{path.parent.name}.{path.stem}")
        routers |= {id(r): r for r in vars(module).values() if isinstance(r, APIRouter)}
    for router in routers.values():
        yield from (r for r in router.routes if isinstance(r, APIRoute))


def full_annotation(info: FieldInfo) -> Any:
    """The field's type with the constraints pydantic took out of its ``Annotated``."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


def types_in(annotation: Any) -> Iterator[Any]:
    """Every class an annotation names (through unions, lists, ``Annotated``)."""
    if isinstance(annotation, type):
        yield annotation
    for arg in get_args(annotation):
        yield from types_in(arg)


def is_moment(cls: Any) -> bool:
    return cls in PYDANTIC_MOMENTS or issubclass(cls, datetime)


def is_date(cls: Any) -> bool:
    return cls in PYDANTIC_DATES or is_moment(cls) or issubclass(cls, date)


def date_inputs(where: str, info: FieldInfo) -> Iterator[tuple[str, Any]]:
    """``(where, annotation)`` of every date or datetime in a field, models walked."""
    annotation = full_annotation(info)
    named = list(types_in(info.annotation))
    if any(is_date(t) for t in named):
        yield where, annotation
    for model in (t for t in named if issubclass(t, BaseModel)):
        for name, field in model.model_fields.items():
            yield from date_inputs(f"{where}.{field.alias or name}", field)


def route_date_inputs() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for route in routes():
        dependant = route.dependant
        params = [
            *(("query", f) for f in dependant.query_params),
            *(("path", f) for f in dependant.path_params),
            *(("header", f) for f in dependant.header_params),
            *(("body", f) for f in dependant.body_params),
        ]
        for method in sorted(route.methods or ()):
            for kind, param in params:
                where = kind if kind == "body" else f"{kind}.{param.alias}"
                for at, annotation in date_inputs(where, param.field_info):
                    found[f"{method} {route.path} {at}"] = annotation
    return found


def refuses_every_probe(annotation: Any) -> bool:
    adapter: TypeAdapter[Any] = TypeAdapter(annotation)
    moments = any(is_moment(t) for t in types_in(annotation))
    for probe in MOMENT_PROBES if moments else DATE_PROBES:
        try:
            adapter.validate_python(probe)
        except ValidationError as exc:
            if exc.errors()[0]["type"] != OUT_OF_RANGE:
                return False
        else:
            return False
    return True


@pytest.fixture(scope="module")
def inputs() -> dict[str, Any]:
    return route_date_inputs()


def test_the_scan_finds_the_date_inputs_of_every_service(inputs: dict[str, Any]) -> None:
    assert set(inputs) >= KNOWN_INPUTS
    assert set(inputs) >= BOUNDED_LATE


def test_every_date_a_route_takes_is_bounded(inputs: dict[str, Any]) -> None:
    unbounded = {
        where for where, annotation in inputs.items() if not refuses_every_probe(annotation)
    }
    assert unbounded == set()
