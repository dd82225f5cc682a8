"""The whole flow in headless Chromium on the simulated kiosk (the demo's stack: embedded
broker, the cloud on SQLite, real scoring), for a clean and a contaminated produce, in both
languages, with a screenshot of every screen. Every screenshot is also checked for layout
(nothing outside the screen at 1024×600, touch targets of at least 48 px).

Screenshots go to ``$KIOSK_SCREENSHOTS`` if set (``docs/images`` keeps the key ones), else to
the test's temporary folder.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest

from gateway import station as station_module
from gateway.session import Step
from nongan.demo.lots_in_cloud import lot_outcomes_in_cloud
from nongan.demo.setup import prepare
from nongan.demo.stack import DemoOptions, DemoStack, free_port
from tests.kiosk_ui.browser import LAYOUT_CHECK, chromium
from tests.support import aio

pytestmark = pytest.mark.browser

SIZES = {"small": (1024, 600), "large": (1280, 800)}


class Walker:
    """A person at the kiosk: taps on the page, and the simulated hardware in their hands."""

    def __init__(self, stack: DemoStack, page, shots: Path, prefix: str) -> None:
        self.stack, self.page, self.shots, self.prefix = stack, page, shots, prefix
        self.session = stack.kiosk.session
        self.problems: list[str] = []
        self.taken: list[str] = []

    async def screen(self, step: Step) -> None:
        """Wait until the browser shows ``step``."""
        await self.page.wait_for_selector(f".frame.step-{step.value}", timeout=30_000)

    async def shot(self, name: str) -> None:
        await self.page.wait_for_timeout(150)  # the fonts and the swap settle
        path = self.shots / f"{self.prefix}-{name}.png"
        await self.page.screenshot(path=str(path))
        self.taken.append(path.name)
        for problem in await self.page.evaluate(LAYOUT_CHECK):
            self.problems.append(f"{path.name}: {problem}")

    async def tap(self, selector: str) -> None:
        await self.page.click(selector)

    async def act(self, action: str, text: str | None = None) -> None:
        selector = f'button[data-action="{action}"]'
        if text:
            selector += f':has-text("{text}")'
        await self.page.click(selector)


async def walk(stack: DemoStack, browser, shots: Path, *, language: str, product: str,
               truth: str, size: str = "small") -> Walker:
    width, height = SIZES[size]
    page = await browser.new_page(viewport={"width": width, "height": height})
    prefix = f"{language}-{truth}" + ("" if size == "small" else f"-{size}")
    w = Walker(stack, page, shots, prefix)
    await page.goto(stack.kiosk_url + "/")
    await w.screen(Step.IDLE)
    if language == "en":
        await w.act("language")
        await page.wait_for_selector("html[lang=en]")
    await w.shot("01-idle")
    await w.act("start")
    await w.screen(Step.IDENTIFY)
    await w.shot("02-identify")
    await w.act("begin_registration")
    await w.screen(Step.REGISTER)
    await page.fill("#reg-name", "王秀英" if language == "zh-CN" else "Wang Xiuying")
    await page.click("#reg-phone")
    for digit in "13912345678":
        await page.click(f'.keypad .key[data-key="{digit}"]')
    await page.click("#reg-pin")
    for digit in "2468":
        await page.click(f'.keypad .key[data-key="{digit}"]')
    await w.shot("03-register")
    await page.click('#register-form button[type=submit]')
    await w.screen(Step.PRODUCT)
    await w.shot("04-product")
    await page.click(f'button[data-product="{product}"]')
    await w.screen(Step.QUANTITY)
    for digit in "12":
        await page.click(f'.keypad .key[data-key="{digit}"]')
    await w.shot("05-quantity")
    await page.click('#quantity-form button[type=submit]')
    await w.screen(Step.PANEL)
    await w.shot("06-panel")
    await w.act("confirm_panel")
    await w.screen(Step.PREPARE)
    await w.shot("07-prepare")
    while True:
        await w.act("next_prep")
        await page.wait_for_timeout(100)
        if w.session.step is not Step.PREPARE:
            break
    await w.screen(Step.INSERT)
    await w.shot("08-insert")
    # The simulated hardware: the person puts the cassette in the tray.
    panel = await browser.new_page()
    await panel.goto(stack.kiosk_url + "/demo/panel")
    await panel.click(f'form[action="/demo/cassette"]:has(input[value="{truth}"]) button')
    await panel.close()
    await w.screen(Step.INCUBATING)
    await w.shot("09-incubating")
    await w.screen(Step.SCORING)
    await w.shot("10-scoring")
    return w


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory) -> Path:
    target = os.environ.get("KIOSK_SCREENSHOTS")
    folder = Path(target) if target else tmp_path_factory.mktemp("screens")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_with_stack(tmp_path, scenario, monkeypatch):
    # Scoring takes a fraction of a second here; hold it a moment so its screen can be seen.
    real = station_module.score_windows

    def slow_score(*args, **kwargs):
        import time

        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(station_module, "score_windows", slow_score)

    async def main():
        options = DemoOptions(tmp_path / "demo", kiosk_port=free_port(), incubation_scale=0.01)
        async with DemoStack(options) as stack:
            await prepare(stack.kiosk)
            async with chromium() as browser:
                return await scenario(stack, browser)

    return aio.run(main(), timeout=240)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_clean_produce_gets_a_certificate_whose_qr_opens_the_cloud_record(
        tmp_path, shots_dir, language, monkeypatch):
    product = "beef_cattle" if language == "zh-CN" else "sheep"

    async def scenario(stack, browser):
        w = await walk(stack, browser, shots_dir, language=language, product=product,
                       truth="clean")
        await w.screen(Step.RESULTS)
        await w.shot("11-results")
        await w.act("issue")
        await w.screen(Step.CERTIFICATE)
        await w.page.wait_for_selector(".print-printed")
        await w.shot("12-certificate")
        qr = await w.page.evaluate("fetch('/qr/certificate.svg')"
                                   ".then(r => r.status + ' ' + r.headers.get('content-type'))")
        cert = stack.kiosk.session.view.certificate
        # The certificate reaches the cloud, which serves its record.
        async with httpx.AsyncClient(base_url=stack.api_url) as client:
            for _ in range(100):
                response = await client.get(f"/api/v1/certificates/{cert.token}")
                if response.status_code == 200:
                    break
                await asyncio.sleep(0.1)
        await w.act("finish")
        await w.screen(Step.IDLE)
        return w, qr, cert, response

    w, qr, cert, response = run_with_stack(tmp_path, scenario, monkeypatch)
    assert qr.startswith("200 image/svg+xml")
    assert cert.verify_url.startswith("http://127.0.0.1:") and cert.verify_url.endswith(
        f"/c/{cert.token}")
    assert response.status_code == 200, response.text
    record = response.json()
    assert record["serial"] == cert.serial and record["valid"] is True
    assert len(w.taken) == 12
    assert not w.problems, "\n".join(w.problems)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_contaminated_produce_is_blocked_and_reaches_the_cloud_as_a_positive(
        tmp_path, shots_dir, language, monkeypatch):
    product = "sheep" if language == "zh-CN" else "beef_cattle"

    async def scenario(stack, browser):
        w = await walk(stack, browser, shots_dir, language=language, product=product,
                       truth="contaminated")
        await w.screen(Step.BLOCKED)
        await w.shot("11-blocked")
        session_id = stack.kiosk.session.person.session_id
        outcomes = {}
        for _ in range(100):
            outcomes = await asyncio.to_thread(lot_outcomes_in_cloud, stack.engine)
            if session_id in outcomes:
                break
            await asyncio.sleep(0.1)
        text = await w.page.inner_text(".content")
        await w.act("finish")
        await w.screen(Step.IDLE)
        return w, outcomes.get(session_id), text

    w, outcome, text = run_with_stack(tmp_path, scenario, monkeypatch)
    assert outcome == "blocked_positive"
    if language == "zh-CN":
        assert "不要销售" in text and "实验室" in text and "4 小时" in text
    else:
        assert "Do not sell" in text and "laboratory" in text and "4 hours" in text
    assert not w.problems, "\n".join(w.problems)


def test_a_returning_producer_an_unclear_strip_and_a_printer_out_of_paper(
        tmp_path, shots_dir, monkeypatch):
    """On the larger screen: the recent list and the PIN, a re-test, printing trouble, the
    "still there?" warning, and (in English) a kiosk that refuses to test."""

    async def scenario(stack, browser):
        gw = stack.kiosk
        producer = await asyncio.to_thread(
            gw.books.producers.register, name="刘德华", phone="13600003333", origin_code="370902",
            pin="8642")
        page = await browser.new_page(viewport={"width": 1280, "height": 800})
        w = Walker(stack, page, shots_dir, "zh-CN-returning-large")
        await page.goto(stack.kiosk_url + "/")
        await w.act("start")
        await w.screen(Step.IDENTIFY)
        await w.shot("01-identify-recent")
        await page.click(f'form:has(input[value="{producer.producer_id}"]) button')
        await w.screen(Step.PIN)
        for digit in "1111":
            await page.click(f'.keypad .key[data-key="{digit}"]')
        await page.click("#pin-form button[type=submit]")
        await page.wait_for_selector(".notice-error")
        await w.shot("02-pin-wrong")
        for digit in "8642":
            await page.click(f'.keypad .key[data-key="{digit}"]')
        await page.click("#pin-form button[type=submit]")
        await w.screen(Step.PRODUCT)
        await page.click('button[data-product="beef_cattle"]')
        await w.screen(Step.QUANTITY)
        for key in "2.5":
            await page.click(f'.keypad .key[data-key="{key}"]')
        await page.click('#quantity-form label.choice:has(input[value="kg"])')
        await page.click('#quantity-form button[type=submit]')
        await w.screen(Step.PANEL)
        await w.act("confirm_panel")
        for truth, end in (("unclear", Step.RETEST), ("clean", Step.RESULTS)):
            await w.screen(Step.PREPARE)
            while w.session.step is Step.PREPARE:
                await w.act("next_prep")
                await page.wait_for_timeout(100)
            await w.screen(Step.INSERT)
            panel = await browser.new_page()
            await panel.goto(stack.kiosk_url + "/demo/panel")
            await panel.click(f'form[action="/demo/cassette"]:has(input[value="{truth}"]) button')
            await panel.close()
            await w.screen(end)
            if end is Step.RETEST:
                await w.shot("03-retest")
                await w.act("retest")
        gw.devices.printer.run_out_of_paper()
        await w.act("issue")
        await w.screen(Step.CERTIFICATE)
        await page.wait_for_selector(".notice-error")
        await w.shot("04-certificate-out-of-paper")
        gw.devices.printer.load_paper()
        await w.act("reprint")
        await page.wait_for_selector(".print-printed")
        # The timeout's warning (its timing is unit-tested): one tap to continue.
        session = w.session
        session._deadline = session._now() + session.config.warning_s - 1
        await session.tick()
        await page.wait_for_selector(".overlay")
        await w.shot("05-still-there")
        await w.act("keep_alive")
        await page.wait_for_selector(".overlay", state="detached")
        cert = session.view.certificate
        await w.act("finish")
        await w.screen(Step.IDLE)
        # A kiosk whose camera is gone refuses to start, and says why.
        gw.devices.camera.unplug()
        await w.act("language")
        await page.wait_for_selector("html[lang=en]")
        w.prefix = "en-refused-large"
        await w.act("start")
        await w.screen(Step.REFUSED)
        await w.shot("01-refused")
        text = await page.inner_text(".content")
        gw.devices.camera.replug()
        return w, cert, text

    w, cert, text = run_with_stack(tmp_path, scenario, monkeypatch)
    assert cert.quantity == 2.5 and cert.unit == "kg"
    assert "camera or reader" in text and "staff" in text
    assert not w.problems, "\n".join(w.problems)
