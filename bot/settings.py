"""Settings of the bot process, read from the environment (prefix FEIJIAN_) and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from locales.lang import LangSetting, default_lang

TELEGRAM_API = "https://api.telegram.org/bot"
TELEGRAM_FILES = "https://api.telegram.org/file/bot"
SANDBOX_API = "http://127.0.0.1:8081/bot"
SANDBOX_FILES = "http://127.0.0.1:8081/file/bot"
# A well-formed token the sandbox accepts (it registers unknown tokens on first use).
# A public, local-only token for the sandbox (not a secret); built so it is never mistaken for a real one.
SANDBOX_TOKEN = "1000000001:" + "feijian-sandbox-demo-token-".ljust(35, "x")


class BotSettings(BaseSettings):
    """Every knob of the bot; the defaults run it against the local sandbox and the local store."""

    model_config = SettingsConfigDict(env_prefix="FEIJIAN_", env_file=".env", extra="ignore")

    telegram_token: str | None = None
    telegram_api_url: str | None = None
    telegram_file_url: str | None = None
    store_url: str = "http://127.0.0.1:8000"
    store_token: str | None = None
    store_timeout: float = Field(default=10.0, gt=0)
    bot_database_url: str = Field(default_factory=lambda: f"sqlite:///{Path('var') / 'bot.sqlite'}")
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    # Telegram allows about 30 messages a second overall; raise only against the sandbox.
    telegram_rate: float = Field(default=30.0, ge=0)
    concurrent_updates: int = Field(default=64, ge=1, le=1024)
    telegram_pool_size: int = Field(default=32, ge=1, le=512)
    # "lean": bot/request.py (HTTP/1.1 over asyncio streams); "httpx": PTB's default HTTPXRequest
    # (proxies from the environment); "auto": httpx when talking to api.telegram.org, where the lean
    # client has not been proven, lean against any other Bot API server (the sandbox, a local one).
    telegram_request: Literal["auto", "lean", "httpx"] = "auto"
    outbox_interval: float = Field(default=2.0, gt=0)
    outbox_max_backoff: float = Field(default=300.0, gt=0)
    notice_poll_interval: float = Field(default=15.0, gt=0)
    persistence_interval: float = Field(default=60.0, gt=0)
    # The zone times are shown in (the store's FEIJIAN_TIMEZONE).
    timezone: str = "Asia/Shanghai"
    # Queued updates of one chat sent this long before they arrived are a burst (the phone was
    # offline): the inspector gets one digest instead of a reply per update.
    burst_age_s: float = Field(default=60.0, gt=0)
    # Any tag (zh, en-US, ...) is normalised; unset, it is the language layer's configured default.
    default_language: LangSetting = Field(default_factory=default_lang)

    @field_validator("bot_database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("FEIJIAN_BOT_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @property
    def request_kind(self) -> Literal["lean", "httpx"]:
        """The Bot API client this configuration uses."""
        if self.telegram_request == "auto":
            return "httpx" if self.base_url.startswith(TELEGRAM_API) else "lean"
        return self.telegram_request

    @property
    def token(self) -> str:
        """The bot token: Telegram's when set, else the sandbox's demo token."""
        return self.telegram_token or SANDBOX_TOKEN

    @property
    def base_url(self) -> str:
        """Bot API base URL: explicit, else Telegram when a real token is set, else the sandbox."""
        if self.telegram_api_url:
            return self.telegram_api_url
        return TELEGRAM_API if self.telegram_token else SANDBOX_API

    @property
    def base_file_url(self) -> str:
        """File download base URL, chosen like `base_url`."""
        if self.telegram_file_url:
            return self.telegram_file_url
        if self.telegram_api_url:
            return self.telegram_api_url.rstrip("/").removesuffix("/bot") + "/file/bot"
        return TELEGRAM_FILES if self.telegram_token else SANDBOX_FILES


@lru_cache(maxsize=1)
def get_bot_settings() -> BotSettings:
    """The process-wide bot settings."""
    return BotSettings()
