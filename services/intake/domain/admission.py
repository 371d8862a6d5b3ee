"""Who may receive what: the catalogue's procedures and units in force, the unit's right
to receive, its area, the required documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.catalogue.configuration import Catalogue
from shared.catalogue.model import CatalogueLookupError, Procedure, Unit
from shared.refusals import Refused

# The kind of unit whose subtree is an administrative area (a desk serves its committee's).
AREA_KINDS = frozenset({"people_committee"})


@dataclass(frozen=True)
class Admission:
    """What the catalogue says about a dossier it accepts: the procedure and the unit."""

    procedure: Procedure
    unit: Unit


def known_procedure(catalogue: Catalogue, code: str) -> Procedure:
    """The procedure ``code`` of the loaded configuration, in force or not."""
    try:
        return catalogue.procedure(code)
    except CatalogueLookupError:
        raise Refused("unknown_procedure", f"no procedure {code}", field="procedure_code") from None


def find_procedure(catalogue: Catalogue, code: str, on: date) -> Procedure:
    """The procedure ``code`` in force on ``on``."""
    procedure = known_procedure(catalogue, code)
    if not _in_force(procedure.valid_from, procedure.valid_to, on):
        raise Refused(
            "procedure_not_in_force", f"procedure {code} is not in force on {on}",
            field="procedure_code",
        )  # fmt: skip
    return procedure


def find_unit_in_force(catalogue: Catalogue, code: str, on: date, field: str) -> Unit:
    """The unit ``code`` itself, which must exist and be in force on ``on``."""
    try:
        unit = catalogue.unit(code)
    except CatalogueLookupError:
        raise Refused("unknown_unit", f"no unit {code}", field=field) from None
    if not unit.in_force(on):
        successor = _successor_in_force(catalogue, code, on)
        raise Refused(
            "unit_not_in_force", f"unit {code} is not in force on {on}", field=field,
            successor=successor,
        )  # fmt: skip
    return unit


def _successor_in_force(catalogue: Catalogue, code: str, on: date) -> str | None:
    try:
        return catalogue.unit_in_force(code, on).unit.code
    except CatalogueLookupError:
        return None


def check_may_receive(procedure: Procedure, unit: Unit) -> None:
    """The unit takes dossiers at all, and of this procedure (kind and level)."""
    problems = []
    if not unit.receives_dossiers:
        problems.append(f"unit {unit.code} does not receive dossiers")
    if unit.kind not in procedure.receiving_kinds:
        problems.append(f"kind {unit.kind} not in {list(procedure.receiving_kinds)}")
    if unit.level not in procedure.receiving_levels:
        problems.append(f"level {unit.level} not in {list(procedure.receiving_levels)}")
    if problems:
        raise Refused(
            "unit_cannot_receive",
            f"{unit.code} cannot receive procedure {procedure.code}: {'; '.join(problems)}",
            field="receiving_unit",
        )


def service_area(catalogue: Catalogue, unit: Unit) -> Unit:
    """The administrative area a unit serves: its nearest people's committee, else the root."""
    chain = (unit, *catalogue.ancestors(unit.code))
    return next((u for u in chain if u.kind in AREA_KINDS), chain[-1])


def check_boundary(
    catalogue: Catalogue, procedure: Procedure, unit: Unit, area_code: str | None, on: date
) -> None:
    """Without "phi địa giới", the applicant's area must lie within the receiving unit's."""
    if area_code is None:
        return  # the desk checked residence papers itself
    try:
        area_unit = catalogue.unit_in_force(area_code, on).unit  # old codes map to successors
    except CatalogueLookupError as exc:
        raise Refused("unknown_unit", str(exc), field="area_unit") from None
    if procedure.allow_any_receiving_unit:
        return
    served = service_area(catalogue, unit)
    area = service_area(catalogue, area_unit)
    if served.code != area.code and served not in catalogue.ancestors(area.code):
        raise Refused(
            "outside_boundary",
            f"{unit.code} serves {served.code}; {area_code} is outside it and procedure "
            f"{procedure.code} does not allow intake regardless of administrative boundary",
            field="area_unit",
        )


def missing_documents(procedure: Procedure, document_types: list[str]) -> list[str]:
    """Required document types absent from the submission, in catalogue order."""
    present = set(document_types)
    return [d.type for d in procedure.required_documents if d.type not in present]


def admit(
    catalogue: Catalogue,
    *,
    procedure_code: str,
    receiving_unit: str,
    area_unit: str | None,
    document_types: list[str] | None,
    on: date,
) -> Admission:
    """Every catalogue check of a dossier (documents skipped when ``document_types`` is None)."""
    procedure = find_procedure(catalogue, procedure_code, on)
    unit = find_unit_in_force(catalogue, receiving_unit, on, "receiving_unit")
    check_may_receive(procedure, unit)
    check_boundary(catalogue, procedure, unit, area_unit, on)
    if document_types is not None and (missing := missing_documents(procedure, document_types)):
        raise Refused(
            "missing_document", f"required document(s) missing: {', '.join(missing)}",
            field="documents", missing=missing,
        )  # fmt: skip
    return Admission(procedure, unit)


def admit_refusal(
    catalogue: Catalogue, *, procedure_code: str, receiving_unit: str, on: date
) -> Admission:
    """A desk may refuse any known procedure (wrong unit, out of force): it must be a desk."""
    procedure = known_procedure(catalogue, procedure_code)
    unit = find_unit_in_force(catalogue, receiving_unit, on, "receiving_unit")
    if not unit.receives_dossiers:
        raise Refused(
            "unit_cannot_receive", f"unit {unit.code} does not receive dossiers",
            field="receiving_unit",
        )  # fmt: skip
    return Admission(procedure, unit)


def _in_force(valid_from: date | None, valid_to: date | None, on: date) -> bool:
    return (valid_from is None or valid_from <= on) and (valid_to is None or on <= valid_to)
