"""The bot's texts: gettext catalogs under locales/<lang>/LC_MESSAGES/bot.po, compiled at load.

Message ids are the English texts; zh_CN translates them, en may override them. The .po files are
compiled in memory with Babel at first use, so there is no build step and no .mo to keep in sync.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).resolve().parent.parent / "locales"
LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"
LANG_NAMES = {"zh-CN": "中文", "en": "English"}


def normalize(lang: str | None) -> str:
    """zh-CN or en from a Telegram language_code or a stored choice."""
    if not lang:
        return DEFAULT
    low = lang.lower()
    if low.startswith("en"):
        return "en"
    return DEFAULT


@lru_cache(maxsize=8)
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of one language (NullTranslations when its .po is missing)."""
    folder = lang.replace("-", "_")
    path = LOCALES / folder / "LC_MESSAGES" / "bot.po"
    if not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        cat = read_po(fh, locale=folder)
    buf = io.BytesIO()
    write_mo(buf, cat)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def t(lang: str | None, msgid: str, **params: object) -> str:
    """The text in the language, with `{name}` placeholders filled."""
    text = catalog(normalize(lang)).gettext(msgid)
    return text.format(**params) if params else text
