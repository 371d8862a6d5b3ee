"""Who may call what: every documented route of every service and the identities it
admits. The access tests hold each service's routes against this table (a route
missing from it fails them), so it is also the reference the README summarises.

Identities are named as in ``shared.auth.identities``: demo users by role, an agency
system (``agency:<unit>``), a platform service, and ``None`` for no token at all.
"""

from __future__ import annotations

from typing import Final

TAN_HOA = "001.21.31.H59"  # the desk user's unit
AGENCY = f"agency:{TAN_HOA}"
GATEWAY = "payment-gateway"  # a payment gateway's adapter (its own client)
IDENTITIES: Final = (
    None,
    "desk",
    "officer",
    "province-officer",
    "operations",
    "auditor",
    "privacy",
    "admin",
    AGENCY,
    "service:intake",
    GATEWAY,
)
OPEN: Final = frozenset(IDENTITIES)
EVERY_ROLE: Final = OPEN - {None}
UNIT_STAFF: Final = frozenset({"desk", AGENCY})
UNIT_ACTORS: Final = frozenset({"desk", "officer", "province-officer", AGENCY})
DOSSIER_READERS: Final = UNIT_ACTORS | {"operations", "auditor", "admin"}
HEALTH: Final = {
    ("GET", "/healthz"): OPEN,
    ("GET", "/readyz"): OPEN,
    ("GET", "/metrics"): frozenset({"operations", "service:intake"}),
}

ACCESS: Final[dict[str, dict[tuple[str, str], frozenset[str | None]]]] = {
    "intake": {
        **HEALTH,
        ("GET", "/v1/units"): EVERY_ROLE,
        ("GET", "/v1/units/{code}"): EVERY_ROLE,
        ("GET", "/v1/procedures"): EVERY_ROLE,
        ("GET", "/v1/procedures/{code}"): EVERY_ROLE,
        ("POST", "/v1/dossiers"): UNIT_STAFF,
        ("POST", "/v1/dossiers/denials"): UNIT_STAFF,
        ("POST", "/v1/dossiers/{code}/reception"): UNIT_STAFF,
        ("POST", "/v1/dossiers/{code}/denial"): UNIT_STAFF,
        ("POST", "/v1/dossiers/supplement-requests"): UNIT_STAFF,
        ("POST", "/v1/dossiers/{code}/supplement-request"): UNIT_STAFF,
        # The applicant's look-up, supplement and withdrawal: the receipt's secret token.
        ("POST", "/v1/dossiers/{code}/supplement"): OPEN,
        ("GET", "/v1/dossiers/{code}"): OPEN,
        ("POST", "/v1/dossiers/{code}/withdrawal"): OPEN,
        ("GET", "/v1/dossiers/{code}/forms/{number}"): OPEN,
        ("GET", "/v1/units/{unit}/forms/06"): UNIT_STAFF,
        # Routing's own client alone (it prints Mẫu 02/04/05): none of these identities.
        ("GET", "/v1/dossiers/{code}/applicant-name"): frozenset(),
        # Data subject requests: the data protection officer alone.
        ("POST", "/v1/subject-access"): frozenset({"privacy"}),
        # A contact correction: the officer, or the desk staff and agency system of the
        # dossier's receiving unit (who recorded the contact at submission).
        ("POST", "/v1/dossiers/{code}/contact-correction"): UNIT_STAFF | {"privacy"},
    },
    "routing": {
        **HEALTH,
        **{
            ("POST", f"/v1/dossiers/{{code}}/{action}"): UNIT_ACTORS
            for action in (
                "transfer/accept",
                "transfer/refuse",
                "step/complete",
                "supplement/request",
                "supplement/provide",
                "result/return",
                "result/hand-over",
                "stop",
                "apology",
                "payment/request",
                "payment/confirm",
            )
        },
        # A payment gateway's adapter: its own client, role payment-gateway.
        ("POST", "/v1/payments/callback"): frozenset({GATEWAY}),
        ("GET", "/v1/dossiers/{code}/forms/{number}"): DOSSIER_READERS,
        ("GET", "/v1/dossiers/{code}"): DOSSIER_READERS,
        ("GET", "/v1/dossiers/{code}/trail"): DOSSIER_READERS,
        ("GET", "/v1/units/{unit}/inbox"): UNIT_ACTORS | {"operations"},
        ("GET", "/v1/flows"): frozenset({"operations"}),
        ("GET", "/v1/overdue"): frozenset({"operations"}),
        ("GET", "/v1/ontime"): frozenset({"operations"}),
    },
    "notification": {
        **HEALTH,
        ("GET", "/v1/subscriptions"): frozenset({"admin", AGENCY}),
        ("POST", "/v1/subscriptions"): frozenset({"admin", AGENCY}),
        ("GET", "/v1/subscriptions/{subscription_id}"): frozenset({"admin", AGENCY}),
        ("DELETE", "/v1/subscriptions/{subscription_id}"): frozenset({"admin", AGENCY}),
        ("POST", "/v1/subscriptions/{subscription_id}/resume"): frozenset({"admin", AGENCY}),
        ("GET", "/v1/notifications"): frozenset({"operations", "admin"}),
        ("GET", "/v1/notifications/{notification_id}"): frozenset({"operations", "admin"}),
        ("GET", "/v1/portal/messages"): frozenset({"operations", "admin"}),
        ("POST", "/v1/portal/messages/{message_id}/replay"): frozenset({"operations", "admin"}),
        ("POST", "/v1/portal/messages/{message_id}/skip"): frozenset({"operations", "admin"}),
        ("POST", "/v1/subject-access"): frozenset({"privacy"}),
    },
    "audit": {
        **HEALTH,
        **{
            ("GET", f"/v1/audit/{path}"): frozenset({"auditor"})
            for path in (
                "entries",
                "entries/{index}",
                "dossiers/{code}",
                "dossiers/{code}/bundle",
                "checkpoints",
                "checkpoints/latest",
                "checkpoints/{size}",
                "proofs/inclusion",
                "proofs/consistency",
                "keys",
                "trust",
            )
        },
    },
    # The operations console's JSON (its pages at / are static files). Signing in is open
    # (it leads to Keycloak's login page); the JSON takes the session cookie or a token.
    "console": {
        **HEALTH,
        ("GET", "/login"): OPEN,
        ("GET", "/auth/callback"): OPEN,
        ("POST", "/logout"): OPEN,
        **{
            (method, f"/api/{path}"): frozenset({"operations"})
            for method, path in (
                ("GET", "session"),
                ("GET", "config"),
                ("GET", "flows"),
                ("GET", "ontime"),
                ("GET", "overdue"),
                ("GET", "dossiers/{code}"),
                ("GET", "health"),
                ("GET", "health/stream"),
                ("GET", "deadletters"),
                ("POST", "deadletters/replay"),
                ("POST", "notifications/{notification_id}/redeliver"),
                ("GET", "actions"),
            )
        },
    },
}
