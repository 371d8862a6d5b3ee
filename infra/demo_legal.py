"""``make run``'s dossiers that show the procedures of docs/legal.md, through the public APIs.

Beyond the four journeys (``DEMO``), three dossiers show the procedures of docs/legal.md
(``LEGAL_DEMO``): a judicial record whose department apologises before the appointment
and sets a new date (Mẫu 04, printable), a land registration whose fee is requested and
paid (the clock stops, then resumes) and carried to DONE, and a household business
registration left waiting for its fee (portal status 6). An overdue dossier cannot be
shown live: a dossier becomes overdue only when a working day passes its appointment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import httpx

from infra.demo import (
    DEMO,
    EARLIER,
    TAN_HOA_DESK,
    VAM_LANG_DESK,
    DemoDossier,
    Submitted,
    drive_to_done,
    next_action,
    submit,
    wait_for_routing,
)
from shared.settings import CalendarSettings, CatalogueSettings

Scenario = Literal["apology", "paid", "awaiting_payment"]


@dataclass(frozen=True)
class LegalDemo:
    """A dossier that shows one procedure of docs/legal.md."""

    demo: DemoDossier
    scenario: Scenario


LEGAL_DEMO = (
    LegalDemo(
        DemoDossier(
            "2.000488",
            TAN_HOA_DESK,
            "Võ Thị Hoa",
            "hoa.vo@example.vn",
            "vi",
            ("request_form", "identity_copy"),
            finish=False,
        ),
        "apology",
    ),
    LegalDemo(
        DemoDossier(
            "1.004227",
            TAN_HOA_DESK,
            "Đặng Văn Giang",
            "giang.dang@example.vn",
            "vi",
            ("application", "land_papers", "cadastral_extract"),
            finish=True,
        ),
        "paid",
    ),
    LegalDemo(
        DemoDossier(
            "2.000720",
            VAM_LANG_DESK,
            "Huỳnh Thị Lan",
            "lan.huynh@example.vn",
            "vi",
            ("application", "household_minutes"),
            finish=False,
        ),
        "awaiting_payment",
    ),
)
APOLOGY_REASON = "Chờ kết quả xác minh nhân thân của cơ quan công an"
APOLOGY_DELAY_WORKING_DAYS = 3


def to_processing(
    client: httpx.Client, routing: str, code: str, deciding: bool = False
) -> dict[str, Any]:
    """Move the dossier on until a unit after the desk is PROCESSING its step: the first
    such unit, or with ``deciding`` the one of the last step before the result returns."""
    view: dict[str, Any] = wait_for_routing(client, routing, code)
    target = len(view["steps"]) - 2 if deciding else 1
    for _ in range(4 * len(view["steps"])):
        if view["state"] == "PROCESSING" and view["current_step"] == target:
            return view
        action = next_action(view)
        if action is None:
            break
        client.post(f"{routing}/v1/dossiers/{code}/{action[0]}", json=action[1]).raise_for_status()
        view = client.get(f"{routing}/v1/dossiers/{code}").json()
    raise RuntimeError(f"{code} did not reach step {target}: {view['state']}")


def apologise(client: httpx.Client, routing: str, code: str) -> dict[str, Any]:
    """The unit whose step runs apologises before the appointment, with a new date (Mẫu 04)."""
    view = to_processing(client, routing, code)
    appointment = date.fromisoformat(view["appointment_date"])
    new_date = CalendarSettings().load().add_working_days(appointment, APOLOGY_DELAY_WORKING_DAYS)
    body = {
        "unit": view["action_unit"],
        "reason": APOLOGY_REASON,
        "new_appointment_date": new_date.isoformat(),
    }
    client.post(f"{routing}/v1/dossiers/{code}/apology", json=body).raise_for_status()
    return dict(client.get(f"{routing}/v1/dossiers/{code}").json())


def fee_of(procedure_code: str) -> tuple[int, str]:
    """The procedure's fee (amount and what for) from the catalogue."""
    fees = CatalogueSettings().load().procedure(procedure_code).fees
    return fees.amount_vnd, fees.note or "Lệ phí"


def request_payment(client: httpx.Client, routing: str, code: str, procedure: str) -> str:
    """The deciding unit asks for the fee: AWAITING_PAYMENT, the clock stops."""
    view = to_processing(client, routing, code, deciding=True)
    amount, what = fee_of(procedure)
    body = {"unit": view["action_unit"], "amount_vnd": amount, "description": what[:500]}
    client.post(f"{routing}/v1/dossiers/{code}/payment/request", json=body).raise_for_status()
    return str(view["action_unit"])


def pay(client: httpx.Client, routing: str, code: str, procedure: str) -> dict[str, Any]:
    """Fee requested, then confirmed by the unit (bank transfer), then carried to DONE."""
    unit = request_payment(client, routing, code, procedure)
    amount, _ = fee_of(procedure)
    body = {
        "unit": unit,
        "amount_vnd": amount,
        "reference": f"CK-{code[-4:]}",
        "method": "bank_transfer",
    }
    client.post(f"{routing}/v1/dossiers/{code}/payment/confirm", json=body).raise_for_status()
    return dict(drive_to_done(client, routing, code))


def play_legal(client: httpx.Client, routing: str, code: str, legal: LegalDemo) -> str:
    """Move one LEGAL_DEMO dossier through its procedure; returns what to look at."""
    if legal.scenario == "apology":
        apologise(client, routing, code)
    elif legal.scenario == "paid":
        pay(client, routing, code, legal.demo.procedure)
    else:
        request_payment(client, routing, code, legal.demo.procedure)
    return shown(client, routing, code, legal)


def shown(client: httpx.Client, routing: str, code: str, legal: LegalDemo) -> str:
    """What to look at on a LEGAL_DEMO dossier once played."""
    if legal.scenario == "apology":
        view = client.get(f"{routing}/v1/dossiers/{code}").json()
        return (
            f"apology (Mẫu 04) by {view['holding_unit']}, new appointment "
            f"{view['appointment_date']}: {routing}/v1/dossiers/{code}/forms/04"
        )
    if legal.scenario == "paid":
        return f"fee requested, paid and the dossier DONE: {routing}/v1/dossiers/{code}/trail"
    return "waiting for its fee (AWAITING_PAYMENT, portal status 6): see the look-up"


def load_legal_demo(
    client: httpx.Client, intake: str, routing: str
) -> list[tuple[LegalDemo, Submitted, str]]:
    """Submit and play each LEGAL_DEMO dossier (one an earlier run submitted today is
    shown as it is, not played again): each with its receipt and what to look at."""
    loaded = []
    for serial, legal in enumerate(LEGAL_DEMO, start=len(DEMO) + 1):
        done = submit(client, intake, legal.demo, serial)
        if done.earlier:
            note = f"{shown(client, routing, done.code, legal)} ({EARLIER})"
        else:
            note = play_legal(client, routing, done.code, legal)
        loaded.append((legal, done, note))
    return loaded
