"""Localized texts and the engine's messages (texts in locales/<lang>/LC_MESSAGES/checklists.po)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from locales.lang import DEFAULT_LANG, LANGS, Lang, lookup, normalize

__all__ = [
    "DEFAULT_LANG",
    "DOMAIN",
    "LANGS",
    "ChecklistError",
    "Lang",
    "LocalizedText",
    "catalog_text",
    "display_text",
    "lt",
    "normalize_lang",
]

DOMAIN = "checklists"

# A loose language tag (zh, zh_CN, en-US, ...) to a supported one; no tag gives the configured default.
normalize_lang = normalize


class LocalizedText(BaseModel):
    """A text in zh-CN and en; an empty string means the translation is missing (lint reports it)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    zh_CN: str = Field(default="", alias="zh-CN")
    en: str = ""

    def get(self, lang: str | None = None) -> str:
        """Return the text in `lang`, falling back to the other language when one is missing."""
        if normalize_lang(lang) == "en":
            return self.en or self.zh_CN
        return self.zh_CN or self.en

    def missing(self) -> list[Lang]:
        """Return the languages whose text is empty."""
        out: list[Lang] = []
        if not self.zh_CN.strip():
            out.append("zh-CN")
        if not self.en.strip():
            out.append("en")
        return out

    def format(self, **params: object) -> LocalizedText:
        """Return a copy with `{name}` placeholders filled in both languages."""
        return LocalizedText(zh_CN=_safe_format(self.zh_CN, params), en=_safe_format(self.en, params))


def lt(zh: str, en: str) -> LocalizedText:
    """Build a LocalizedText from its zh-CN and en strings."""
    return LocalizedText(zh_CN=zh, en=en)


class _Defaulting(dict[str, Any]):
    """Leaves unknown placeholders visible instead of raising, so a bad template never crashes a visit."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _safe_format(template: str, params: dict[str, object]) -> str:
    try:
        return template.format_map(_Defaulting(params))
    except (ValueError, IndexError, AttributeError):
        return template


@lru_cache(maxsize=256)
def _entry(msgid: str) -> LocalizedText | None:
    """The catalog text of `msgid` in both languages, or None when no language has it."""
    zh, en = lookup(DOMAIN, "zh-CN", msgid), lookup(DOMAIN, "en", msgid)
    if zh is None and en is None:
        return None
    return LocalizedText(zh_CN=zh or "", en=en or "")


# Every message the engine itself produces has a stable code in the catalog; checklist texts live in
# the YAML definitions. Words used when rendering answers in a summary have ids "display.<code>".
def catalog_text(code: str, lang: str | None = None, **params: object) -> str:
    """Render a catalog message in `lang`; unknown codes render as the code itself."""
    text = _entry(code)
    if text is None:
        return code
    return text.format(**params).get(lang)


def display_text(code: str, lang: str | None = None, **params: object) -> str:
    """Render a summary display word in `lang`."""
    text = _entry(f"display.{code}")
    if text is None:
        raise KeyError(code)
    return text.format(**params).get(lang)


class ChecklistError(Exception):
    """A user-facing error: an invalid answer, an out-of-order step, a wrong checklist."""

    def __init__(
        self,
        code: str,
        *,
        lang: str | None = None,
        text: LocalizedText | None = None,
        step_id: str | None = None,
        **params: object,
    ) -> None:
        self.code = code
        self.params = params
        self.step_id = step_id
        # A checklist-defined message (e.g. an XLSForm constraint_message) overrides the catalog.
        self.text = text if text is not None else (_entry(code) or lt(code, code)).format(**params)
        self.lang: Lang = normalize_lang(lang)
        super().__init__(self.message(self.lang))

    def message(self, lang: str | None = None) -> str:
        """Return the error message in `lang` (zh-CN by default)."""
        return self.text.get(lang if lang is not None else self.lang)
