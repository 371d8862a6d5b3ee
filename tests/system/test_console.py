"""The operations console in a real browser (Debian's headless Chromium, driven by
Playwright) against the five services as processes with dossiers in flight.

The operator signs in on the real Keycloak's login page (the demo user ``ops``); the
flow diagram, the on-time table, the overdue list and a dossier's trail render real
data; the health page refreshes itself over server-sent events; a dead letter is
replayed from the page and routing processes it; the replay is recorded as the
signed-in operator, with when, and audit logs it; signing out ends the session; a
user without the operations role gets none and the page says why.

The second test is about what the page says and how it fits: signed out, no sign-out
button; codes (states, levels, event types) named in Vietnamese and English; an
action refused by the API said in its row; a bulk replay that acts on the applied
filter only, asks first with the count and skips letters replayed; a letter inspected
with its message decoded; times in Vietnam time; no sideways scrolling on a 390 px
phone; and routing stopped: each page says the service did not answer, not "no such
dossier".
Screenshots are kept under .local/console-test/ (not committed).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from infra.launcher import Fleet
from shared.auth.identities import DEV_PASSWORD
from shared.runtime import CommonSettings
from shared.testing import eventually
from tests.system.console_platform import (
    PLANTED_NAME,
    ROOT,
    audited_replay,
    load_dossiers,
    plant_dead_letter,
    routing_knows,
    running_fleet,
    running_platform,
)

playwright = pytest.importorskip("playwright.async_api")
expect = playwright.expect
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
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def platform(
    common_settings: CommonSettings, smtp_port: int, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, str], list[str], list[str]]]:
    async with running_platform(common_settings, smtp_port, tmp_path) as urls:
        codes, done = await asyncio.to_thread(load_dossiers, urls)
        yield urls, codes, done


@pytest.fixture
async def fleet(
    common_settings: CommonSettings, smtp_port: int, tmp_path: Path
) -> AsyncIterator[tuple[Fleet, list[str], list[str]]]:
    async with running_fleet(common_settings, smtp_port, tmp_path) as fleet:
        codes, done = await asyncio.to_thread(load_dossiers, fleet.urls())
        yield fleet, codes, done


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


def page_errors(page: Any) -> list[str]:
    """Uncaught errors and errors logged by the page's scripts, as they happen (not the
    browser's own note of each refused request: the page answers those itself)."""
    errors: list[str] = []

    def logged(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", logged)
    return errors


async def sign_in(page: Any, console: str, hash_: str) -> None:
    """From the signed-out page, through Keycloak's login form as ``ops``, back to ``hash_``."""
    await page.click("#sign-in")
    await page.wait_for_selector("#kc-form-login")
    assert page.url.startswith("http://127.0.0.1:8180/realms/lienthong/")
    await page.fill("#username", "ops")
    await page.fill("#password", DEV_PASSWORD)
    await page.click("#kc-login")
    await page.wait_for_url(f"{console}/{hash_}")
    await page.wait_for_selector("#who-name:has-text('ops')")


async def no_sideways_scroll(page: Any) -> None:
    """Nothing on the page is wider than the viewport."""
    await page.wait_for_function(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


async def test_console_shows_real_flows_and_replays_a_dead_letter(
    platform: tuple[dict[str, str], list[str], list[str]],
    page: Any,
    common_settings: CommonSettings,
) -> None:
    urls, codes, done = platform
    console = urls["console"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors = page_errors(page)

    # Signed out, the console offers to sign in; Keycloak's own page takes the password.
    await page.goto(f"{console}/#flows")
    await sign_in(page, console, "#flows")
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
    assert "Đã trả kết quả" in states and "Liên thông" in states  # DONE, IN_TRANSFER
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
    assert "Chuyển liên thông" in trail and "Đã trả kết quả" in trail
    receipts = await page.inner_text("#receipts-table")
    assert "Đã tiếp nhận" in receipts
    await expect(page.locator("#dossier-evidence, #dossier-bundle")).to_have_count(0)
    assert await page.locator("#dossier-view a[href='undefined']").count() == 0
    await expect(page.locator("#dossier-audit-note")).to_contain_text("kiểm toán viên")
    await page.screenshot(path=str(SHOTS / "dossier.png"), full_page=True)

    # Health: refreshed live (server-sent events) without reloading.
    await page.goto(f"{console}/#health")
    await page.wait_for_selector("#health-services td.ok")
    first = await page.inner_text("#health-at")
    await page.wait_for_function(
        f"document.getElementById('health-at').textContent !== {first!r}", timeout=20000
    )
    assert "routing" in await page.inner_text("#health-lag")
    # Lag is listed on every partition (6 per dossier topic): those at 0 are one row per
    # group and topic, a partition behind keeps its own.
    await expect(page.locator("#health-lag td.zero-lag").first).to_contain_text("độ trễ 0")
    idle_rows = await page.evaluate(
        "[...document.querySelectorAll('#health-lag tbody tr')]"
        ".map(tr => [...tr.cells].map(c => c.textContent))"
        ".filter(c => c[3] === '0').map(c => c[0] + ' ' + c[1])"
    )
    assert idle_rows and len(idle_rows) == len(set(idle_rows))
    await page.screenshot(path=str(SHOTS / "health.png"), full_page=True)
    assert await page.evaluate("state.stream.readyState") == 1  # EventSource.OPEN

    # Dead letters: one planted, replayed from the page, processed by routing.
    lost = code.rsplit("-", 1)[0] + "-9999"
    await plant_dead_letter(common_settings, lost)
    await page.goto(f"{console}/#deadletters")
    row = page.locator("#dl-table tbody tr", has_text=lost)
    await row.wait_for()
    # Its error quotes a person: shown as the exception's class, the message withheld.
    await expect(row).to_contain_text("RuntimeError: message withheld")
    assert PLANTED_NAME not in await page.inner_text("#dl-table")
    await row.get_by_role("button", name="Phát lại").click()
    await expect(row.locator(".outcome.ok")).to_contain_text("hoàn tất")  # done
    routed = await eventually(lambda: routing_knows(urls, lost), timeout=30)
    assert routed["code"] == lost
    # The page reloads the list and the recorded actions after the replay answers.
    await page.wait_for_selector("#actions-table td:has-text('ops')")
    actions = await page.inner_text("#actions-table")
    assert "ops" in actions and "Phát lại" in actions
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


async def test_console_says_what_failed_and_fits_a_phone(
    fleet: tuple[Fleet, list[str], list[str]],
    page: Any,
    common_settings: CommonSettings,
) -> None:
    platform, codes, done = fleet
    console = platform.urls()["console"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors = page_errors(page)
    await page.emulate_media(reduced_motion="reduce")  # charts drawn at once
    await page.set_viewport_size({"width": 1280, "height": 800})
    prefix = codes[0].rsplit("-", 1)[0]
    first, second, malformed = (f"{prefix}-{n}" for n in ("9991", "9992", "9993"))
    for code in (first, second):
        await plant_dead_letter(common_settings, code)
    await plant_dead_letter(common_settings, malformed, kind="malformed")

    # Signed out: the page says so; no sign-out button, no pages to go to.
    await page.goto(f"{console}/#deadletters")
    await expect(page.locator("#signed-out")).to_be_visible()
    await expect(page.locator("#sign-out")).to_be_hidden()
    await expect(page.locator("#nav")).to_be_hidden()
    await page.screenshot(path=str(SHOTS / "ui-signed-out.png"))
    await sign_in(page, console, "#deadletters")
    await expect(page.locator("#sign-out")).to_be_visible()
    tab = page.locator("nav a[data-tab=deadletters]")
    await expect(tab).to_have_attribute("aria-current", "page")

    rows = page.locator("#dl-table tbody tr")
    await expect(rows).to_have_count(3)
    row_of = {code: rows.filter(has_text=code) for code in (first, second, malformed)}
    # No filter applied: a bulk replay is not offered, and the page says why.
    bulk = page.locator("#dl-replay-filtered")
    await expect(bulk).to_be_disabled()
    await expect(page.locator("#dl-bulk-hint")).to_contain_text("Lọc")
    # A filter chosen but not applied changes neither the rows nor what a replay takes.
    await page.select_option("#dl-kind", "handler_failed")
    await expect(page.locator("#dl-bulk-hint")).to_contain_text("chưa áp dụng")
    await expect(bulk).to_be_disabled()
    await expect(rows).to_have_count(3)

    # An action the API refuses (no session's CSRF token: 403 csrf) is said in its row.
    token = await page.evaluate("state.session.csrf_token")
    await page.evaluate("state.session.csrf_token = 'forged'")
    await row_of[malformed].get_by_role("button", name="Phát lại").click()
    refused = row_of[malformed].locator(".outcome.bad")
    await expect(refused).to_contain_text("CSRF")
    await expect(refused).to_contain_text("csrf · HTTP 403")
    await page.evaluate(f"state.session.csrf_token = {token!r}")
    await expect(row_of[malformed].get_by_role("button", name="Phát lại")).to_be_enabled()

    # A replay from a row: said there, and that row's button is off from then on.
    await row_of[first].get_by_role("button", name="Phát lại").click()
    await expect(row_of[first].locator(".outcome.ok")).to_contain_text("hoàn tất")
    await expect(row_of[first].get_by_role("button", name="Đã phát lại")).to_be_disabled()

    # Applied, the filter shows two letters; the bulk replay asks first, with the count,
    # and skips the one replayed already.
    await page.click("#dl-filter button[type=submit]")
    await expect(rows).to_have_count(2)
    await expect(bulk).to_be_enabled()
    await bulk.click()
    dialog = page.locator("#confirm-dialog")
    await expect(dialog).to_be_visible()
    await expect(page.locator("#confirm-text")).to_contain_text("Phát lại 1 thư")
    await expect(page.locator("#confirm-detail")).to_contain_text("1 thư đã được phát lại")
    assert second in await page.inner_text("#confirm-list")
    assert first not in await page.inner_text("#confirm-list")
    await page.screenshot(path=str(SHOTS / "ui-bulk-confirm.png"))
    await page.click("#confirm-cancel")  # nothing happens
    await expect(dialog).to_be_hidden()
    await expect(row_of[second].get_by_role("button", name="Phát lại")).to_be_enabled()
    await bulk.click()
    await page.click("#confirm-ok")
    result = page.locator("#dl-result")
    await expect(result).to_contain_text("Đã phát lại 1 thư")
    await expect(result).to_contain_text("Bỏ qua 1 thư")
    await expect(row_of[second].get_by_role("button", name="Đã phát lại")).to_be_disabled()
    await expect(bulk).to_be_disabled()  # every letter shown is replayed
    recorded = await page.evaluate(
        "fetch('/api/actions').then(r => r.json()).then(b => b.items.map(a => a.dossier_code))"
    )
    assert sorted(recorded) == sorted([first, second])  # never the one not shown
    await page.screenshot(path=str(SHOTS / "ui-bulk-replayed.png"), full_page=True)

    # Inspecting a letter: labelled with where it is and its dossier, the message decoded.
    await page.select_option("#dl-kind", "")
    await page.click("#dl-filter button[type=submit]")
    await expect(rows).to_have_count(3)
    await row_of[malformed].get_by_role("button", name="Xem").click()
    await expect(page.locator("#dl-inspect")).to_be_visible()
    await expect(page.locator("#dl-inspect-title")).to_contain_text(f"hồ sơ {malformed}")
    message = await page.inner_text("#dl-inspect-message")
    # dossier.events carries personal data: the body is withheld, its outline shown
    # (the envelope's attributes, the data's field names, never their values).
    assert message.startswith("Nội dung không hiển thị")
    assert f'"subject": "{malformed}"' in message and '"data_fields"' in message
    assert f'"dossier_code": "{malformed}"' not in message and '\\"' not in message
    await page.screenshot(path=str(SHOTS / "ui-inspect.png"))
    await page.click("#dl-inspect-close")
    await expect(page.locator("#dl-inspect")).to_be_hidden()

    # A failed delivery's letter for a notification the notification service does not
    # have: its redelivery is refused up front (nothing recorded), said as refused with
    # its reason, in its row and by a bulk replay, never as a success.
    orphan = f"{prefix}-9994"
    await plant_dead_letter(
        common_settings, orphan, kind="delivery_failed", notification_id=f"missing-{orphan}"
    )
    await page.select_option("#dl-kind", "delivery_failed")
    await page.click("#dl-filter button[type=submit]")
    await expect(rows).to_have_count(1)
    orphan_row = rows.filter(has_text=orphan)
    await orphan_row.get_by_role("button", name="Gửi lại").click()
    said = orphan_row.locator(".outcome.bad")
    await expect(said).to_contain_text("không gửi lại được")
    await expect(said).to_contain_text("Dịch vụ thông báo không có thông báo này")
    await expect(orphan_row.locator(".outcome.ok")).to_have_count(0)
    await expect(orphan_row.get_by_role("button", name="Gửi lại")).to_be_enabled()
    await bulk.click()
    await page.click("#confirm-ok")
    await expect(result).to_contain_text("1 thư bị từ chối, không gửi lại")
    await expect(result).to_contain_text("Dịch vụ thông báo không có thông báo này")
    await expect(result).not_to_contain_text("Đã phát lại")
    await page.screenshot(path=str(SHOTS / "ui-redelivery-refused.png"), full_page=True)
    recorded = await page.evaluate(
        "fetch('/api/actions').then(r => r.json()).then(b => b.items.map(a => a.dossier_code))"
    )
    assert orphan not in recorded  # refused: nothing recorded
    await page.select_option("#dl-kind", "")
    await page.click("#dl-filter button[type=submit]")
    await expect(rows).to_have_count(4)

    # Codes named: states (the portal's wording), levels, event types; times in Vietnam time.
    await page.goto(f"{console}/#flows")
    await expect(page.locator("#states-table")).to_contain_text("Đã trả kết quả")
    await expect(page.locator("#states-table")).to_contain_text("Liên thông")
    await expect(page.locator("#backlog-table")).to_contain_text("Cấp xã")
    label = await page.get_attribute("#flow-chart", "aria-label") or ""
    assert "Cấp xã → Cấp huyện" in label  # the diagram's text alternative
    tooltip = await page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('flow-chart')).getOption().tooltip[0]"
        ".formatter({dataType: 'edge', data: {source: 'commune ▸', target: '▸ district',"
        " value: 2, accepted: 1, pending: 1}})"
    )
    assert tooltip == (
        "Cấp xã ▸ → ▸ Cấp huyện: 2 lượt chuyển (đã tiếp nhận 1, bị từ chối 0, đang chờ 1)"
    )
    await page.goto(f"{console}/#ontime")
    await expect(page.locator("#overdue-table")).to_contain_text("Sắp trễ hạn")
    await page.goto(f"{console}/#dossier/{done[-1]}")
    notifications = page.locator("#notifications-table")
    await expect(notifications.locator("thead")).to_contain_text("Sự kiện")
    await expect(notifications.locator("thead")).to_contain_text("Tạo lúc")
    await expect(notifications).to_contain_text("Tiếp nhận hồ sơ")
    await expect(notifications).to_contain_text("GMT+7")
    # A redelivery of a notification that is not failed: refused by the API (409
    # not_redeliverable, its status named), said in its row. The page offers the button
    # on failed ones only, so the test calls what that button calls.
    await page.evaluate(
        "(async () => { const v = await api('/dossiers/' + encodeURIComponent("
        f"{done[-1]!r})); const n = v.notifications.find(x => x.status !== 'failed');"
        f" await redeliver(n, {done[-1]!r}, document.createElement('button')); }})()"
    )
    refusal = notifications.locator(".outcome.bad")
    await expect(refusal).to_contain_text("Không gửi lại được: thông báo đang ở trạng thái")
    await expect(refusal).to_contain_text("not_redeliverable · HTTP 409")
    await expect(page.locator("#trail-timeline")).to_contain_text("Chuyển liên thông")
    # Trail details said from routing's codes and params, in the page's language.
    await expect(page.locator("#trail-timeline")).to_contain_text("bước 1: phiếu bàn giao")
    await page.click("#lang-en")
    await expect(page.locator("#dossier-summary")).to_contain_text("Result returned")
    await expect(page.locator("#trail-timeline")).to_contain_text("Hand-over requested")
    await expect(page.locator("#trail-timeline")).to_contain_text("step 1: receipt")
    await expect(page.locator("#trail-timeline")).not_to_contain_text("bước")
    # The overdue list names the step in English (routing's step_name_en).
    await page.goto(f"{console}/#ontime")
    await expect(page.locator("#overdue-table")).to_contain_text("Nearly late")
    step_en = await page.evaluate(
        "(async () => (await api('/overdue')).units[0].dossiers[0].step_name_en)()"
    )
    assert step_en
    await expect(page.locator("#overdue-table")).to_contain_text(step_en)
    await page.goto(f"{console}/#flows")
    await expect(page.locator("#states-table")).to_contain_text("In transfer")
    await expect(page.locator("#backlog-table")).to_contain_text("Commune")
    await page.screenshot(path=str(SHOTS / "ui-flows-en.png"), full_page=True)
    await page.click("#lang-vi")
    await page.goto(f"{console}/#dossier/{prefix}-0000")
    await expect(page.locator("#dossier-error")).to_contain_text(
        f"Không tìm thấy hồ sơ {prefix}-0000"
    )
    # A link with an escape that does not decode, a code with "/", one too long for
    # routing, and dot segments (the browser would ask another path): each said in place,
    # not a script error, "no such route" or "routing is down".
    for asked, said in [
        ("%E0%A4%A", "Không tìm thấy hồ sơ %E0%A4%A"),
        ("a%2Fb", "Không tìm thấy hồ sơ a/b"),
        ("A" * 65, "Yêu cầu không hợp lệ (trường path.code)"),
        ("..", "“..” không phải là mã hồ sơ"),
        ("%2E", "“.” không phải là mã hồ sơ"),
    ]:
        await page.goto(f"{console}/#dossier/{asked}")
        await expect(page.locator("#dossier-error")).to_contain_text(said)

    # A phone: no page scrolls sideways, tabs wrap between labels, buttons are on screen.
    await page.set_viewport_size(PHONE)
    for name, ready in [
        ("flows", "#states-table td"),
        ("ontime", "#overdue-table td"),
        (f"dossier/{done[-1]}", "#notifications-table td"),
        ("health", "#health-services td"),
        ("deadletters", "#dl-table td"),
    ]:
        await page.goto(f"{console}/#{name}")
        await page.wait_for_selector(ready)
        await no_sideways_scroll(page)
        shot = name.split("/")[0]
        await page.screenshot(path=str(SHOTS / f"ui-phone-{shot}.png"), full_page=True)
    one_line = await page.evaluate(
        "[...document.querySelectorAll('nav a')].every(a => a.getClientRects().length === 1"
        " && a.getBoundingClientRect().height < 40)"
    )
    assert one_line
    for button in [
        page.locator("#sign-out"),
        row_of[malformed].get_by_role("button", name="Phát lại"),
    ]:
        box = await button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]

    # Routing stopped: each page says the service did not answer (not "no such dossier").
    await asyncio.to_thread(platform.terminate, "routing")
    await page.set_viewport_size({"width": 1280, "height": 800})
    for name, box in [
        ("flows", "#flows-error"),
        ("ontime", "#ontime-error"),
        (f"dossier/{done[-1]}", "#dossier-error"),
    ]:
        await page.goto(f"{console}/#{name}")
        problem = page.locator(box)
        await expect(problem).to_contain_text("Dịch vụ nguồn routing hiện không phản hồi")
        await expect(problem).to_contain_text("service_unavailable · HTTP 502")
        await page.screenshot(path=str(SHOTS / f"ui-routing-down-{name.split('/')[0]}.png"))
    await expect(page.locator("#dossier-error")).not_to_contain_text("Không tìm thấy")
    await page.click("#lang-en")
    await expect(page.locator("#dossier-error")).to_contain_text(
        "The routing service did not answer"
    )
    assert errors == []
