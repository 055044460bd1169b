"""Fixtures: one sandbox server per test session, a fresh bot token and user per test."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from PIL import Image
from telegram import Bot

from sandbox import SandboxClient, SandboxServer, make_token

TESTDATA = Path(__file__).resolve().parents[2].parent / "shared" / "testdata"


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """A sandbox served in a background thread for the whole session."""
    with SandboxServer() as server:
        yield server


@pytest.fixture
def token(sandbox_server: SandboxServer) -> str:
    """A fresh bot token, registered with the sandbox."""
    t = make_token()
    sandbox_server.sandbox.register_bot(t)
    return t


@pytest.fixture
def client(sandbox_server: SandboxServer, token: str) -> Iterator[SandboxClient]:
    """A control client bound to this test's bot."""
    with SandboxClient(sandbox_server.url, bot=token) as c:
        yield c


@pytest.fixture
async def bot(sandbox_server: SandboxServer, token: str) -> AsyncIterator[Bot]:
    """A python-telegram-bot Bot talking to the sandbox."""
    async with Bot(
        token, base_url=sandbox_server.bot_base_url, base_file_url=sandbox_server.bot_base_file_url
    ) as b:
        yield b


@pytest.fixture
def telegram_testdata() -> Path:
    """../shared/testdata/telegram, or skip."""
    path = TESTDATA / "telegram"
    if not path.is_dir():
        pytest.skip(f"shared Telegram test data not found at {path}")
    return path


def jpeg_with_exif(size: tuple[int, int] = (1600, 1200)) -> bytes:
    """A JPEG carrying EXIF (Make, DateTimeOriginal) for photo tests."""
    img = Image.new("RGB", size, (30, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "SandboxCam"
    exif[0x0132] = "2024:05:01 10:00:00"
    buf = io.BytesIO()
    img.save(buf, format="JPEG", exif=exif.tobytes())
    return buf.getvalue()
