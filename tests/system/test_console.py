"""The operations console in a real browser (Debian's headless Chromium, driven by
Playwright) against the five services as processes with dossiers in flight.

The operator signs in on the real Keycloak's login page (the demo user ``ops``); the
flow diagram, the on-time table, the overdue list and a dossier's trail render real
data; the health page refreshes itself over server-sent events; a dead letter is
replayed from the page and routing processes it; the replay is recorded as the
signed-in operator, with when, and audit logs it; signing out ends the session; a
user without the operations role gets none and the page says why.
Screenshots are kept under .local/console-test/ (not committed).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.auth.identities import DEV_PASSWORD
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.system.console_platform import (
    ROOT,
    audited_replay,
    load_dossiers,
    plant_dead_letter,
    routing_knows,
    running_platform,
)

playwright = pytest.importorskip("playwright.async_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = ROOT / ".local" / "console-test"


@pytest.fixture
async def platform(
    common_settings: CommonSettings, smtp_port: int, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, str], list[str], list[str]]]:
    async with running_platform(common_settings, smtp_port, tmp_path) as urls:
        codes, done = await asyncio.to_thread(load_dossiers, urls)
        yield urls, codes, done


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():  # noqa: ASYNC240 - one stat before the browser starts
        pytest.fail("Debian chromium is missing: run `make browser` (apt-get install chromium)")
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            await browser.close()


async def test_console_shows_real_flows_and_replays_a_dead_letter(
    platform: tuple[dict[str, str], list[str], list[str]],
    page: Any,
    common_settings: CommonSettings,
) -> None:
    urls, codes, done = platform
    console = urls["console"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    # Signed out, the console offers to sign in; Keycloak's own page takes the password.
    await page.goto(f"{console}/#flows")
    await page.click("#sign-in")
    await page.wait_for_selector("#kc-form-login")
    assert page.url.startswith("http://127.0.0.1:8180/realms/lienthong/")
    await page.fill("#username", "ops")
    await page.fill("#password", DEV_PASSWORD)
    await page.click("#kc-login")
    await page.wait_for_url(f"{console}/#flows")
    await page.wait_for_selector("#who-name:has-text('ops')")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["lt_console_session"]["httpOnly"]  # the page's scripts never see it

    # Flows: the Sankey diagram draws real hand-overs, the tables real counts.
    await page.wait_for_selector("#flow-chart canvas")
    await page.wait_for_function(
        "echarts.getInstanceByDom(document.getElementById('flow-chart'))"
        "?.getOption().series[0].links.length > 0"
    )
    links = await page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('flow-chart')).getOption()"
        ".series[0].links.map(l => [l.source, l.target, l.value])"
    )
    assert ["commune ▸", "▸ district", 2] in links or any(
        s == "commune ▸" and t == "▸ district" for s, t, _ in links
    )
    states = await page.inner_text("#states-table")
    assert "DONE" in states and "IN_TRANSFER" in states
    await page.screenshot(path=str(SHOTS / "flows.png"), full_page=True)

    # On time: rates per unit and procedure, the overdue list with holders.
    await page.goto(f"{console}/#ontime")
    await page.wait_for_selector("#ontime-unit-table tbody tr td.num")
    on_time = await page.inner_text("#ontime-unit-table")
    assert "%" in on_time and "001.21.31.H59" in on_time
    await page.wait_for_selector("#overdue-table tbody a")
    overdue = await page.inner_text("#overdue-table")
    in_flight = [code for code in codes if code not in done]
    assert all(code in overdue for code in in_flight)
    await page.screenshot(path=str(SHOTS / "ontime.png"), full_page=True)

    # A dossier: its trail as a timeline, hand-over receipts (no link to audit's evidence,
    # which only an auditor's own token opens: docs/console.md, "Audit evidence").
    code = done[-1]
    await page.goto(f"{console}/#dossier/{code}")
    await page.wait_for_selector("#trail-timeline li")
    trail = await page.inner_text("#trail-timeline")
    assert "transfer" in trail and "DONE" in trail
    receipts = await page.inner_text("#receipts-table")
    assert "accepted" in receipts
    await page.screenshot(path=str(SHOTS / "dossier.png"), full_page=True)

    # Health: refreshed live (server-sent events) without reloading.
    await page.goto(f"{console}/#health")
    await page.wait_for_selector("#health-services td.ok")
    first = await page.inner_text("#health-at")
    await page.wait_for_function(
        f"document.getElementById('health-at').textContent !== {first!r}", timeout=20000
    )
    assert "routing" in await page.inner_text("#health-lag")
    assert await page.evaluate("state.stream.readyState") == 1  # EventSource.OPEN

    # Dead letters: one planted, replayed from the page, processed by routing.
    lost = code.rsplit("-", 1)[0] + "-9999"
    await plant_dead_letter(common_settings, lost)
    await page.goto(f"{console}/#deadletters")
    row = page.locator("#dl-table tbody tr", has_text="catalogue lookup failed")
    await row.wait_for()
    await row.get_by_role("button", name="Phát lại").click()
    await page.wait_for_selector("#dl-result:not([hidden])")
    assert "done" in await page.inner_text("#dl-result")
    routed = await eventually(lambda: routing_knows(urls, lost), timeout=30)
    assert routed["code"] == lost
    # The page reloads the list and the recorded actions after the replay answers.
    await page.wait_for_selector("#actions-table td:has-text('ops')")
    actions = await page.inner_text("#actions-table")
    assert "ops" in actions and "replay" in actions
    [entry] = await eventually(lambda: audited_replay(urls, lost), timeout=30)
    assert entry["event_type"] == "operations.deadletter.replayed.v1"
    assert entry["event"]["data"]["operator"] == "ops"
    await page.screenshot(path=str(SHOTS / "deadletters.png"), full_page=True)

    # English.
    await page.click("#lang-en")
    assert await page.inner_text("h1") == "Inter-level operations console"

    # Signing out ends the session here and at Keycloak: back to the signed-out page.
    await page.click("#sign-out")
    await page.wait_for_selector("#signed-out:not([hidden])")
    assert "lt_console_session" not in {c["name"] for c in await page.context.cookies()}
    await page.click("#sign-in")  # Keycloak asks for the password again
    await page.wait_for_selector("#kc-form-login")

    # A desk user is no operator: no session, and the page says why.
    await page.fill("#username", "desk.tanhoa")
    await page.fill("#password", DEV_PASSWORD)
    await page.click("#kc-login")
    await page.wait_for_selector("#refused:not([hidden])")
    assert "operations" in await page.inner_text("#refused")
    assert "lt_console_session" not in {c["name"] for c in await page.context.cookies()}
    assert errors == []
