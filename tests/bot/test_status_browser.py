"""A resident on a 360 px phone in Debian's Chromium: /status without JavaScript, zh-CN then English.

It saves the screenshot the README shows (docs/img/status.png). Chinese text needs a CJK font on the
machine (apt-get install -y fonts-wqy-microhei); without one the page still works, the picture shows boxes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.conftest import StoreServer
from tests.bot.test_trainee_browser import CHROMIUM, CHROMIUM_ARGS
from tests.residents.helpers import make_application

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "status.png"


@pytest.mark.browser
async def test_status_page_at_phone_size(store: StoreServer) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright, expect

    from models.db import unit_of_work

    with unit_of_work(store.engine) as s:
        a = make_application(s, name="包玉兰", seed=77)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(
                viewport={"width": 360, "height": 740}, java_script_enabled=False, device_scale_factor=2
            )
            page = await context.new_page()
            await page.goto(f"{store.url}/status")
            await expect(page.get_by_role("heading")).to_have_text("低保申请进度查询")
            await page.get_by_label("申请编号").fill(a.number)
            await page.get_by_label("申请人身份证号").fill(a.id_number)
            await page.get_by_label("申请人姓名").fill(a.name)
            await page.get_by_role("button", name="查询").click()
            await expect(page.locator(".stage")).to_have_text("申请")
            await expect(page.get_by_text("包**")).to_be_visible()
            body = await page.content()
            assert a.id_number not in body
            # readable at 360 px: nothing wider than the screen, large text
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360
            size = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
            assert size >= 18
            if store.kind == "sqlite":
                SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
                await page.screenshot(path=str(SCREENSHOT), full_page=True)
            await page.get_by_role("link", name="English").click()
            await expect(page.get_by_role("heading")).to_have_text("Dibao application status")
            await page.get_by_label("Application number").fill(a.number)
            await page.get_by_label("Applicant's ID number").fill(a.id_number)
            await page.get_by_label("Applicant's name").fill("王五")
            await page.get_by_role("button", name="Look up").click()
            await expect(page.get_by_role("alert")).to_contain_text("No application matches")
        finally:
            await browser.close()
