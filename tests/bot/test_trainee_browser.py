"""A trainee in Debian's Chromium: the sandbox /chat page, the real bot and store — sign up, list tasks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.bot.conftest import World

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.mark.browser
async def test_trainee_signs_up_and_lists_tasks_in_the_chat_page(world: World) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright, expect

    insp = world.staff("trainee1", home_township_code="150422100")
    code = world.invite("trainee1")
    world.release(insp, ["LB7001", "LB7002"])
    me = httpx.get(f"{world.settings.base_url}{world.settings.token}/getMe").json()["result"]
    with world.bot():
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = await browser.new_page(viewport={"width": 390, "height": 844})
                await page.goto(f"{world.sandbox.url}/chat")
                await page.get_by_test_id("bot-select").select_option(me["username"])
                await page.get_by_test_id("new-user-name").fill("培训学员")
                await page.get_by_test_id("create-user").click()
                await expect(page.get_by_test_id("user-select")).to_contain_text("培训学员")

                await page.get_by_test_id("text").fill(f"/start {code}")
                await page.get_by_test_id("send").click()
                await expect(page.locator(".msg.bot").filter(has_text="欢迎")).to_be_visible(timeout=10_000)

                await page.get_by_test_id("text").fill("/tasks")
                await page.get_by_test_id("send").click()
                listing = page.locator(".msg.bot").filter(has_text="您的任务（2 户）")
                await expect(listing).to_be_visible(timeout=10_000)
                await expect(listing).to_contain_text("林东镇1号")
                await expect(listing).not_to_contain_text("王秀英")  # masked by the store
                await expect(page.get_by_test_id("inline-button").filter(has_text="▶").first).to_be_visible()
            finally:
                await browser.close()
