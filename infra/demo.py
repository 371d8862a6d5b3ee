"""Demo data for ``make run``: dossiers submitted and moved through the public APIs only.

Every step goes through the services' HTTP APIs (intake to submit, routing for the
units' actions) with real tokens from the local Keycloak: the Tân Hòa desk user
(password grant) submits and acts for its desk, every other unit acts through its
agency system's client (client credentials), and operations reads routing's views.
So the events, notifications and audit entries are the real ones.

The three dossiers of the legal procedures are in ``infra.demo_legal``.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx

from shared.auth.identities import DEMO_USERS, UnitAuth

TAN_HOA_DESK = "001.21.31.H59"
VAM_LANG_DESK = "001.22.31.H59"


@dataclass(frozen=True)
class DemoDossier:
    """One demo submission and how far to move it."""

    procedure: str
    desk: str
    applicant: str
    email: str
    language: str
    documents: tuple[str, ...]
    finish: bool


DEMO = (
    DemoDossier(
        "1.001193",
        TAN_HOA_DESK,
        "Nguyễn Văn An",
        "an.nguyen@example.vn",
        "vi",
        ("registration_form", "birth_certificate"),
        finish=True,
    ),
    DemoDossier(
        "1.012815",
        TAN_HOA_DESK,
        "Tran Thi Binh",
        "binh.tran@example.com",
        "en",
        ("application", "land_certificate", "site_extract"),
        finish=True,
    ),
    DemoDossier(
        "2.000488",
        VAM_LANG_DESK,
        "Lê Văn Cường",
        "cuong.le@example.vn",
        "vi",
        ("request_form", "identity_copy"),
        finish=False,
    ),
    DemoDossier(
        "2.000720",
        TAN_HOA_DESK,
        "Phạm Thị Dung",
        "dung.pham@example.vn",
        "vi",
        ("application", "household_minutes"),
        finish=False,
    ),
)


def submission(demo: DemoDossier, serial: int) -> dict[str, Any]:
    """A realistic submission body (identity numbers are made up)."""
    return {
        "procedure_code": demo.procedure,
        "receiving_unit": demo.desk,
        "channel": "desk",
        "applicant": {
            "name": demo.applicant,
            "identity_type": "citizen_id",
            "identity_number": f"0822030{serial:05d}",
            "email": demo.email,
            "phone": f"09123{serial:05d}",
            "channels": ["email", "sms"],
            "language": demo.language,
        },
        "documents": [
            {
                "name": f"{doc}.pdf",
                "type": doc,
                "size_bytes": 120_000 + serial,
                "sha256": hashlib.sha256(f"{demo.procedure}/{doc}/{serial}".encode()).hexdigest(),
            }
            for doc in demo.documents
        ],
    }


def wait_for_routing(client: httpx.Client, routing: str, code: str, timeout: float = 30) -> Any:
    """Routing learns of a dossier from Kafka; poll its view until it is there."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"{routing}/v1/dossiers/{code}")
        if response.status_code == 200:
            return response.json()
        time.sleep(0.2)
    raise RuntimeError(f"routing did not pick up {code} within {timeout}s")


def next_action(view: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What the unit that must act does next to move the dossier on; None once DONE."""
    unit = view["action_unit"]
    state = view["state"]
    if state == "DONE" or unit is None:
        return None
    if state == "IN_TRANSFER":
        return "transfer/accept", {"unit": unit}
    if state == "RESULT_READY":
        return "result/hand-over", {"unit": unit}
    if view["current_step"] == len(view["steps"]) - 1:
        return "result/return", {"unit": unit, "note": "Kết quả đã sẵn sàng"}
    return "step/complete", {"unit": unit, "outcome": "approve", "note": "Đạt yêu cầu"}


def drive_to_done(client: httpx.Client, routing: str, code: str, max_actions: int = 30) -> Any:
    """Act as each unit in turn until the dossier is DONE; returns routing's final view."""
    view = wait_for_routing(client, routing, code)
    for _ in range(max_actions):
        action = next_action(view)
        if action is None:
            return view
        path, body = action
        response = client.post(f"{routing}/v1/dossiers/{code}/{path}", json=body)
        response.raise_for_status()
        view = client.get(f"{routing}/v1/dossiers/{code}").json()
    raise RuntimeError(f"{code} not done after {max_actions} actions")


def move_one_step(client: httpx.Client, routing: str, code: str) -> None:
    """The receiving desk sends the dossier on to the next unit."""
    view = wait_for_routing(client, routing, code)
    action = next_action(view)
    if action is not None:
        client.post(f"{routing}/v1/dossiers/{code}/{action[0]}", json=action[1]).raise_for_status()


def demo_auth() -> UnitAuth:
    """Who the demo acts as: see the module docstring."""
    return UnitAuth("operations", people={TAN_HOA_DESK: "desk"})


@dataclass(frozen=True)
class Submitted:
    """A demo dossier's receipt: its code, its look-up token, and whether an earlier
    ``make run`` submitted it already (the same Idempotency-Key within a day)."""

    code: str
    token: str
    earlier: bool


def submit(client: httpx.Client, intake: str, demo: DemoDossier, serial: int) -> Submitted:
    """Submit one demo dossier, or find the one an earlier run submitted (a replay)."""
    response = client.post(
        f"{intake}/v1/dossiers",
        json=submission(demo, serial),
        headers={"Idempotency-Key": f"demo-{demo.procedure}-{serial}"},
    )
    response.raise_for_status()
    receipt = response.json()
    earlier = response.headers.get("Idempotent-Replayed") == "true"
    return Submitted(receipt["code"], receipt["lookup_token"], earlier)


def load_demo_data(urls: dict[str, str]) -> None:
    """Submit the demo dossiers and move them along; print how to look them up."""
    intake, routing = urls["intake"], urls["routing"]
    print("[demo] submitting demo dossiers at Tân Hòa and Vàm Láng one-stop desks", flush=True)
    with httpx.Client(timeout=30, auth=demo_auth()) as client:
        # A second make run the same day finds its dossiers where the first left them
        # (the store is kept): it shows them again instead of moving them on.
        for serial, demo in enumerate(DEMO, start=1):
            done = submit(client, intake, demo, serial)
            if not done.earlier:
                move_on = drive_to_done if demo.finish else move_one_step
                move_on(client, routing, done.code)
            print_dossier(urls, demo, done.code, done.token, EARLIER if done.earlier else "")
        from infra.demo_legal import load_legal_demo  # it builds on this module

        for legal, done, note in load_legal_demo(client, intake, routing):
            print_dossier(urls, legal.demo, done.code, done.token, note)


EARLIER = "submitted by an earlier make run today, shown as it is"


def print_dossier(
    urls: dict[str, str], demo: DemoDossier, code: str, token: str, note: str = ""
) -> None:
    print(
        f"[demo] {code} ({demo.procedure}){': ' + note if note else ''}\n"
        f"         look it up: curl -H 'X-Lookup-Token: {token}' "
        f"{urls['intake']}/v1/dossiers/{code}\n"
        f"       trail (token of ops): {urls['routing']}/v1/dossiers/{code}/trail\n"
        f"       evidence (token of auditor): {urls['audit']}/v1/audit/dossiers/{code}/bundle",
        flush=True,
    )


def token_help(token_url: str) -> str:
    """How to get a token for each demo user and an agency client (development secrets)."""
    users = "\n".join(
        f"    {user.username:19} {user.role:10} {user.unit or '(no unit)'}"
        for user in DEMO_USERS.values()
    )
    return (
        "Tokens (Keycloak realm lienthong; development passwords and secrets only):\n"
        f"  demo users, password 'dev-password' (password grant, client lienthong-cli):\n{users}\n"
        f"    curl -s -d grant_type=password -d client_id=lienthong-cli -d username=desk.tanhoa "
        f"-d password=dev-password {token_url}\n"
        "  agency systems, one client per unit, secret 'dev-secret-<client id>':\n"
        "    curl -s -d grant_type=client_credentials -d client_id=agency-000.00.31.H59 "
        f"-d client_secret=dev-secret-agency-000.00.31.H59 {token_url}\n"
        "  then: TOKEN=$(curl -s ... | python3 -c 'import json,sys; "
        'print(json.load(sys.stdin)["access_token"])\')\n'
        '        curl -H "Authorization: Bearer $TOKEN" <service URL>/v1/...\n'
        "  Swagger UI (/docs): Authorize, client swagger-ui, log in as a demo user."
    )
