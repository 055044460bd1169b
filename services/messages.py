"""The store's messages by stable code: texts live in locales/<lang>/LC_MESSAGES/services.po."""

from __future__ import annotations

from typing import Any

from locales.lang import LANGS, Lang, from_accept_language, lookup, normalize

__all__ = ["DOMAIN", "LANGS", "Lang", "normalize", "pick_language", "translate"]

DOMAIN = "services"


def translate(code: str, lang: str | None = None, /, **params: Any) -> str:
    """Looks up a message by code in the language (falls back to zh-CN, then the code itself)."""
    text = lookup(DOMAIN, lang, code) or lookup(DOMAIN, "zh-CN", code)
    if text is None:
        return code
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def pick_language(accept: str | None, default: str | None = None) -> Lang:
    """Chooses zh-CN or en from an Accept-Language header value (else the configured default)."""
    return from_accept_language(accept, default)
