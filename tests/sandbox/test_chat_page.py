"""The /chat page in Debian's Chromium (Playwright) against a real PTB Application."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from sandbox import SandboxClient, SandboxServer
from tests.sandbox.conftest import jpeg_with_exif

App = Application[Any, Any, Any, Any, Any, Any]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def test_chat_page_is_served(sandbox_server: SandboxServer) -> None:
    page = httpx.get(f"{sandbox_server.url}/chat")
    assert page.status_code == 200 and "chat.js" in page.text
    for asset in ("chat.js", "chat.css"):
        assert httpx.get(f"{sandbox_server.url}/chat/{asset}").status_code == 200
    assert httpx.get(f"{sandbox_server.url}/chat/..%2Fserver.py").status_code == 404


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("确认 Confirm", callback_data="ok")]])
    await update.effective_message.reply_text("欢迎\n第二行", reply_markup=keyboard)


async def _pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("好的 OK")
    await query.edit_message_text(f"已确认 {query.data}")


async def _ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("是 Yes", callback_data="q1:yes")]])
    await update.effective_message.reply_text("1. 第一题\n/back", reply_markup=keyboard)


async def _answered(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Like a visit step: the pressed question is edited to show its answer while the next is sent."""
    query = update.callback_query
    assert query is not None and isinstance(query.message, Message)
    await asyncio.gather(
        query.answer(),
        query.edit_message_text("1. 第一题\n→ 是"),
        query.message.reply_text("2. 第二题\n/back"),
    )


async def _where(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    kb = ReplyKeyboardMarkup([[KeyboardButton("📍 共享位置", request_location=True)]], one_time_keyboard=True)
    await update.effective_message.reply_text("请共享位置", reply_markup=kb)


async def _located(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    msg = update.effective_message
    assert msg is not None and msg.location is not None
    live = "实时" if msg.location.live_period else "静态"
    await context.bot.send_message(msg.chat_id, f"{live}位置 {msg.location.latitude:.4f}")


async def _photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    msg = update.effective_message
    assert msg is not None
    if msg.photo:
        await msg.reply_photo(msg.photo[-1].file_id, caption=f"照片 {len(msg.photo)} 个尺寸")
    elif msg.document:
        await msg.reply_text(f"文件 {msg.document.file_name} {msg.document.file_size}")


@pytest.fixture
async def echo_app(sandbox_server: SandboxServer, token: str) -> AsyncIterator[App]:
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(sandbox_server.bot_base_url)
        .base_file_url(sandbox_server.bot_base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(CommandHandler("where", _where))
    app.add_handler(CommandHandler("ask", _ask))
    app.add_handler(CallbackQueryHandler(_answered, pattern="^q1:"))
    app.add_handler(CallbackQueryHandler(_pressed))
    app.add_handler(MessageHandler(filters.LOCATION, _located))
    app.add_handler(MessageHandler(filters.PHOTO | filters.Document.ALL, _photo))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        yield app
        await app.updater.stop()
        await app.stop()


@pytest.mark.browser
async def test_chat_page_in_chromium(
    sandbox_server: SandboxServer,
    token: str,
    client: SandboxClient,
    echo_app: App,
    tmp_path: Path,
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright, expect

    me = await echo_app.bot.get_me()
    client.set_places([{"name": "张三家", "latitude": 40.0, "longitude": 116.0, "address": "一村 1 号"}])
    photo = tmp_path / "door.jpg"
    photo.write_bytes(jpeg_with_exif((1000, 800)))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{sandbox_server.url}/chat")
            await page.get_by_test_id("bot-select").select_option(me.username)
            await page.get_by_test_id("new-user-name").fill("浏览器用户")
            await page.get_by_test_id("create-user").click()
            await expect(page.get_by_test_id("user-select")).to_contain_text("浏览器用户")

            await page.get_by_test_id("text").fill("/start")
            await page.get_by_test_id("send").click()
            welcome = page.locator(".msg.bot").filter(has_text="欢迎")
            await expect(welcome).to_contain_text("欢迎\n第二行")
            await page.get_by_test_id("inline-button").filter(has_text="确认").click()
            await expect(page.locator(".msg.bot").filter(has_text="已确认 ok")).to_be_visible()
            await expect(page.locator("#toast")).to_contain_text("好的 OK")
            await expect(page.get_by_test_id("inline-button")).to_have_count(
                0
            )  # keyboard removed by the edit

            # reply keyboard with request_location, a point near a household, then a live location
            await page.get_by_test_id("text").fill("/where")
            await page.get_by_test_id("send").click()
            await page.get_by_test_id("toggle-location").click()
            await page.get_by_test_id("place-select").select_option("0")
            await page.locator("#use-place").click()
            await page.get_by_test_id("reply-button").filter(has_text="共享位置").click()
            await expect(
                page.locator(".msg.bot").filter(has_text=re.compile(r"静态位置 (40\.000|39\.999)"))
            ).to_be_visible()
            await page.locator("#lat").fill("23.1")
            await page.locator("#lon").fill("113.3")
            await page.get_by_test_id("start-live").click()
            await expect(page.locator(".msg.bot").filter(has_text="实时位置 23.1000")).to_be_visible()
            await page.locator("#lat").fill("23.2")
            await page.get_by_test_id("move-live").click()
            await expect(page.locator(".msg.user").filter(has_text="23.200000")).to_contain_text("已编辑")
            await page.get_by_test_id("stop-live").click()

            # upload the same image as a photo and as a file
            await page.get_by_test_id("toggle-attach").click()
            async with page.expect_file_chooser() as chooser:
                await page.locator("#pick-photo").click()
            await (await chooser.value).set_files(str(photo))
            await expect(
                page.locator(".msg.bot").filter(has_text="照片 4 个尺寸").locator("img")
            ).to_be_visible()
            async with page.expect_file_chooser() as chooser:
                await page.locator("#pick-file").click()
            await (await chooser.value).set_files(str(photo))
            await expect(
                page.locator(".msg.bot").filter(has_text=f"文件 door.jpg {photo.stat().st_size}")
            ).to_be_visible()
        finally:
            await browser.close()
    client.set_places([])


COUNTY_CENTRE = ("43.980000", "119.380000")  # 巴林左旗, the demo county
PLACES = [
    {"name": "林东镇 王**", "latitude": 43.967512, "longitude": 119.402387, "address": "一村 1 号"},
    {"name": "林东镇 李**", "latitude": 43.99, "longitude": 119.41},
]


@asynccontextmanager
async def _chromium() -> AsyncIterator[Any]:
    """Debian's Chromium through Playwright (the test is skipped when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 1280])
async def test_place_picker_is_usable_at_phone_and_desktop_widths(
    sandbox_server: SandboxServer, client: SandboxClient, width: int
) -> None:
    from playwright.async_api import expect

    client.set_places(PLACES)
    try:
        async with _chromium() as browser:
            page = await browser.new_page(viewport={"width": width, "height": 800})
            await page.goto(f"{sandbox_server.url}/chat")
            await page.get_by_test_id("toggle-location").click()
            picker = page.get_by_test_id("place-select")
            await expect(picker).to_contain_text("林东镇 王** · 一村 1 号")
            box = await picker.bounding_box()
            panel = await page.locator("#location-panel").bounding_box()
            assert box is not None and panel is not None
            assert box["height"] >= 32, box
            assert box["width"] >= 0.8 * (panel["width"] - 16), (box, panel)  # the panel's row, not a sliver
    finally:
        client.set_places([])


@pytest.mark.browser
@pytest.mark.parametrize("width", [360, 1280])
async def test_attach_and_location_buttons_say_what_they_do(
    sandbox_server: SandboxServer, width: int
) -> None:
    from playwright.async_api import expect

    async with _chromium() as browser:
        page = await browser.new_page(viewport={"width": width, "height": 800})
        await page.goto(f"{sandbox_server.url}/chat")
        # Words, zh-CN then English: an emoji alone is a box where no emoji font is installed.
        await expect(page.get_by_test_id("toggle-attach")).to_have_text(re.compile(r"附件\s*Attach"))
        await expect(page.get_by_test_id("toggle-location")).to_have_text(re.compile(r"位置\s*Location"))
        text = await page.get_by_test_id("text").bounding_box()
        assert text is not None and text["width"] >= 80  # the message field keeps room beside them


@pytest.mark.browser
async def test_location_panel_starts_at_the_first_place_else_the_county_centre(
    sandbox_server: SandboxServer, client: SandboxClient
) -> None:
    from playwright.async_api import expect

    try:
        async with _chromium() as browser:
            client.set_places([])
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{sandbox_server.url}/chat")
            await page.get_by_test_id("toggle-location").click()
            await expect(page.get_by_test_id("place-select")).to_contain_text("no places")
            await expect(page.locator("#lat")).to_have_value(COUNTY_CENTRE[0])
            await expect(page.locator("#lon")).to_have_value(COUNTY_CENTRE[1])
            await page.close()

            client.set_places(PLACES)
            page = await browser.new_page(viewport={"width": 390, "height": 844})
            await page.goto(f"{sandbox_server.url}/chat")
            await page.get_by_test_id("toggle-location").click()
            await expect(page.get_by_test_id("place-select")).to_contain_text("林东镇 王**")
            await expect(page.locator("#lat")).to_have_value("43.967512")
            await expect(page.locator("#lon")).to_have_value("119.402387")
            # A point the user typed stays when the panel is closed and opened again.
            await page.locator("#lat").fill("44.5")
            client.set_places(PLACES[1:])
            await page.get_by_test_id("toggle-location").click()
            await page.get_by_test_id("toggle-location").click()  # opening it loads the places again
            await expect(page.get_by_test_id("place-select")).not_to_contain_text("王**")
            await expect(page.locator("#lat")).to_have_value("44.5")
    finally:
        client.set_places([])


@pytest.mark.browser
async def test_an_edited_question_stays_in_its_own_bubble(
    sandbox_server: SandboxServer, echo_app: App
) -> None:
    from playwright.async_api import expect

    me = await echo_app.bot.get_me()
    async with _chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(f"{sandbox_server.url}/chat")
        await page.get_by_test_id("bot-select").select_option(me.username)
        await page.get_by_test_id("new-user-name").fill("答题用户")
        await page.get_by_test_id("create-user").click()
        await expect(page.get_by_test_id("user-select")).to_contain_text("答题用户")
        await page.get_by_test_id("text").fill("/ask")
        await page.get_by_test_id("send").click()
        first = page.locator(".msg.bot").filter(has_text="1. 第一题")
        await expect(first).to_be_visible()
        first_id = await first.get_attribute("data-id")
        await page.get_by_test_id("inline-button").filter(has_text="是").click()
        second = page.locator(".msg.bot").filter(has_text="2. 第二题")
        await expect(second).to_be_visible()
        answered = page.locator(f'.msg.bot[data-id="{first_id}"]')
        await expect(answered).to_contain_text("1. 第一题\n→ 是")
        await expect(answered).to_contain_text("已编辑")
        await expect(answered).not_to_contain_text("2.")
        assert await second.get_attribute("data-id") != first_id
        await expect(page.get_by_test_id("inline-button")).to_have_count(0)
