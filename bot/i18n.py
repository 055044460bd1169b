"""The bot's texts: the `bot` gettext domain of the language layer (locales/<lang>/LC_MESSAGES/bot.po).

Message ids are the English texts; zh_CN translates them, en may override them. The catalog holds
every text of the bot, the guided visit's included.
"""

from __future__ import annotations

import gettext

from locales.lang import DEFAULT_LANG, LANGS, LOCALES_DIR, Lang, normalize, translations
from locales.lang import LANG_NAMES as _LANG_NAMES

__all__ = ["DEFAULT", "DOMAIN", "LANGS", "LANG_NAMES", "LOCALES", "Lang", "catalog", "normalize", "t"]

DOMAIN = "bot"
LOCALES = LOCALES_DIR
DEFAULT = DEFAULT_LANG
# Keyed by plain strings: handlers look names up with the tag a user picked.
LANG_NAMES: dict[str, str] = {str(lang): name for lang, name in _LANG_NAMES.items()}


def catalog(lang: str | None) -> gettext.NullTranslations:
    """The compiled bot catalog of one language (NullTranslations when its .po is missing)."""
    return translations(DOMAIN, lang)


def t(lang: str | None, msgid: str, **params: object) -> str:
    """The text in the language, with `{name}` placeholders filled."""
    text = translations(DOMAIN, lang).gettext(msgid)
    return text.format(**params) if params else text
