"""Who may subscribe to webhooks, and where webhooks may go (SSRF), against the real
store, broker and Keycloak tokens: refusals change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from notification.config import NotificationSettings, WebhookSettings
from notification.main import create_app

from shared.testing import auth_headers, eventually, running_app
from tests.integration.notification.helpers import notifications, publish
from tests.integration.notification.servers import WebhookReceiver
from tests.samples import contact, envelope_of, received, registered

TAN_HOA = "001.21.31.H59"
VAM_LANG = "001.22.31.H59"
TYPES = ["dossier.received.v2"]
ADMIN, TAN_HOA_AGENCY = auth_headers("admin"), auth_headers(f"agency:{TAN_HOA}")


def production(settings: NotificationSettings) -> NotificationSettings:
    """The same service with the deployment's webhook policy: https only, no allow-list."""
    return settings.model_copy(update={"webhook": WebhookSettings(timeout_s=5)})


async def post(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(
        "/v1/subscriptions", json={"event_types": TYPES, **body}, headers=headers
    )


SSRF_URLS = [
    ("http://203.0.113.10/hooks", "invalid_url"),  # plain http without the dev setting
    ("https://127.0.0.1/hooks", "url_not_allowed"),
    ("https://127.1.2.3:8443/hooks", "url_not_allowed"),
    ("https://localhost/hooks", "url_not_allowed"),  # a name resolving to loopback
    ("https://[::1]/hooks", "url_not_allowed"),
    ("https://10.0.0.5/hooks", "url_not_allowed"),
    ("https://192.168.1.1/hooks", "url_not_allowed"),
    ("https://169.254.169.254/latest/meta-data", "url_not_allowed"),  # cloud metadata
    ("https://[fe80::1]/hooks", "url_not_allowed"),
    ("https://224.0.0.1/hooks", "url_not_allowed"),
    ("https://[::ffff:127.0.0.1]/hooks", "url_not_allowed"),
    ("https://[2002:7f00:1::]/hooks", "url_not_allowed"),  # 6to4 of 127.0.0.1
    ("https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hooks", "url_not_allowed"),  # Teredo
    ("https://[64:ff9b::a9fe:a9fe]/hooks", "url_not_allowed"),  # NAT64 of the metadata
    ("https://0.0.0.0/hooks", "url_not_allowed"),
    ("https://no-such-host.invalid/hooks", "url_not_allowed"),
]


@pytest.mark.parametrize(("url", "code"), SSRF_URLS)
async def test_internal_or_plain_urls_are_refused_at_subscription(
    settings: NotificationSettings, url: str, code: str
) -> None:
    async with running_app(create_app(production(settings))) as client:
        response = await post(client, ADMIN, url=url)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert (response.json()["code"], response.json()["field"]) == (code, "url")
        assert (await client.get("/v1/subscriptions", headers=ADMIN)).json() == []


async def test_a_malformed_url_is_refused_for_an_agency_too(
    settings: NotificationSettings,
) -> None:
    async with running_app(create_app(production(settings))) as client:
        for url in ("https://[::1", "https://x:99999/", "https://x:abc/"):
            response = await post(client, TAN_HOA_AGENCY, url=url, units=[TAN_HOA])
            assert response.status_code == 422, (url, response.text)
            assert (response.json()["code"], response.json()["field"]) == ("invalid_url", "url")
        assert (await client.get("/v1/subscriptions", headers=ADMIN)).json() == []


# Accepted by urlsplit, and resolved by getaddrinfo to the public 1.1.1.1, but refused by
# httpx, which delivers: subscribed, every delivery would fail.
UNDELIVERABLE_URLS = [
    "https://1.1.1.01/hooks",
    "https://１.１.１.１/hooks",
    "https://1.1.1.1/ho\tok",
    "https://1.1.1.1/hooks\x7f",
]


@pytest.mark.parametrize("url", UNDELIVERABLE_URLS)
async def test_a_url_the_delivering_client_cannot_read_is_refused_at_subscription(
    settings: NotificationSettings, url: str
) -> None:
    async with running_app(create_app(production(settings))) as client:
        response = await post(client, ADMIN, url=url)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert (response.json()["code"], response.json()["field"]) == ("invalid_url", "url")
        assert (await client.get("/v1/subscriptions", headers=ADMIN)).json() == []


async def test_the_address_is_checked_again_at_delivery(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    """Subscribed while the allow-list admitted it; delivered after it no longer does."""
    endpoint = receiver.endpoint("internal")
    async with running_app(create_app(settings)) as client:
        created = await post(client, ADMIN, url=receiver.url("internal"))
        assert created.status_code == 201, created.text
    code = "001.21.31.H59-261126-0301"
    stricter = settings.model_copy(
        update={"webhook": settings.webhook.model_copy(update={"allowed_networks": []})}
    )
    async with running_app(create_app(stricter)) as client:
        await publish(settings, envelope_of(received(code)))

        async def failed() -> dict[str, Any] | None:
            items = await notifications(client, code, headers=ADMIN)
            return items[0] if items and items[0]["status"] == "failed" else None

        item = await eventually(failed)
        subscription = (await client.get("/v1/subscriptions", headers=ADMIN)).json()[0]
    assert endpoint.requests == 0
    assert "loopback" in item["attempts"][0]["error"]
    assert "loopback" in subscription["last_error"]


async def test_an_agency_subscribes_for_its_own_unit_only(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    url = receiver.url("agency")
    async with running_app(create_app(settings)) as client:
        other = await post(client, TAN_HOA_AGENCY, url=url, units=[VAM_LANG])
        mixed = await post(client, TAN_HOA_AGENCY, url=url, units=[TAN_HOA, VAM_LANG])
        everything = await post(client, TAN_HOA_AGENCY, url=url)
        desk = await post(client, auth_headers("desk"), url=url, units=[TAN_HOA])
        anonymous = await post(client, {}, url=url, units=[TAN_HOA])
        assert (other.status_code, other.json()["code"], other.json()["field"]) == (
            403,
            "wrong_unit",
            "units.0",
        )
        assert (mixed.status_code, mixed.json()["field"]) == (403, "units.1")
        assert (everything.status_code, everything.json()["code"]) == (403, "units_required")
        assert (desk.status_code, desk.json()["code"]) == (403, "forbidden")
        assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthenticated")
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        assert (await client.get("/v1/subscriptions", headers=ADMIN)).json() == []

        own = await post(client, TAN_HOA_AGENCY, url=url, units=[TAN_HOA])
        assert own.status_code == 201, own.text
        assert own.json()["owner_unit"] == TAN_HOA and len(own.json()["secret"]) >= 40
        admins = await post(client, ADMIN, url=url)  # every event: administrators only
        assert admins.status_code == 201

        # The agency sees and manages only its unit's subscriptions.
        mine = (await client.get("/v1/subscriptions", headers=TAN_HOA_AGENCY)).json()
        assert [s["id"] for s in mine] == [own.json()["id"]]
        admin_id = admins.json()["id"]
        path = f"/v1/subscriptions/{admin_id}"
        assert (await client.get(path, headers=TAN_HOA_AGENCY)).status_code == 404
        assert (await client.delete(path, headers=TAN_HOA_AGENCY)).status_code == 404
        assert (await client.post(f"{path}/resume", headers=TAN_HOA_AGENCY)).status_code == 404
        assert len((await client.get("/v1/subscriptions", headers=ADMIN)).json()) == 2
        own_path = f"/v1/subscriptions/{own.json()['id']}"
        assert (await client.delete(own_path, headers=TAN_HOA_AGENCY)).status_code == 204


async def test_an_agency_hears_the_outcomes_of_deliveries_about_its_unit(
    settings: NotificationSettings, receiver: WebhookReceiver
) -> None:
    """Found by review: an outcome named no unit, so an agency's subscription to
    `notification.*` (which must name its unit) was accepted and never received anything."""
    own, other = receiver.endpoint("outcomes"), receiver.endpoint("elsewhere")
    code = "001.21.31.H59-261126-0302"
    outcomes = ["notification.sent.v1", "notification.failed.v1"]
    async with running_app(create_app(settings)) as client:
        mine = await client.post(
            "/v1/subscriptions",
            json={"url": receiver.url("outcomes"), "event_types": outcomes, "units": [TAN_HOA]},
            headers=TAN_HOA_AGENCY,
        )
        assert mine.status_code == 201, mine.text
        own.secret = mine.json()["secret"]
        theirs = await client.post(
            "/v1/subscriptions",
            json={"url": receiver.url("elsewhere"), "event_types": outcomes, "units": [VAM_LANG]},
            headers=ADMIN,
        )
        assert theirs.status_code == 201, theirs.text
        # The applicant of a Tân Hòa dossier is told of its reception, by email and SMS.
        await publish(
            settings,
            envelope_of(registered(code, contact())),
            envelope_of(received(code)),
        )

        async def forwarded() -> list[dict[str, Any]] | None:
            items = await notifications(client, code, headers=ADMIN)
            sent = [i for i in items if i["recipient_kind"] == "subscriber"]
            return sent if len(sent) == 2 and all(i["status"] == "sent" for i in sent) else None

        # Each outcome's deliveries are recorded together: Vam Lang's would be here too.
        deliveries = await eventually(forwarded)
    assert {i["subscription_id"] for i in deliveries} == {mine.json()["id"]}
    assert sorted(i["source_event_type"] for i in deliveries) == ["notification.sent.v1"] * 2
    assert [a["event_type"] for a in own.accepted] == ["notification.sent.v1"] * 2
    assert own.rejected == [] and other.requests == 0
