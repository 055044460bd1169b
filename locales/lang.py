"""The one language layer: supported languages, tag normalising, the configured default, the catalogs.

Every package that shows text to people (services, media, checklists, bot, api, cli) takes its
language type and rules from here, and reads its texts from one gettext domain compiled from
``locales/<lang>/LC_MESSAGES/<domain>.po``. The .po files are compiled in memory with Babel at first
use (once per process), so there is no build step and no .mo file to keep in sync.

Message ids: the bot's are its English texts (en may leave them untranslated); the services, media
and checklists domains use their stable codes (stored and matched by tests), translated in both
zh_CN and en.
"""

from __future__ import annotations

import gettext
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BeforeValidator

# The language type is shared vocabulary: the store/bot contracts carry it too, and contracts/
# imports nothing of the project, so it is defined there once and re-exported here.
from contracts.vocab import Lang as Lang

LANGS: Final[tuple[Lang, ...]] = ("zh-CN", "en")
# Chinese is the working language of inspectors, so it is the built-in default and the fallback.
DEFAULT_LANG: Final[Lang] = "zh-CN"
LANG_NAMES: Final[dict[Lang, str]] = {"zh-CN": "中文", "en": "English"}

LOCALES_DIR: Final = Path(__file__).resolve().parent
Domain = Literal["bot", "services", "media", "checklists", "console"]
DOMAINS: Final[tuple[Domain, ...]] = ("bot", "services", "media", "checklists", "console")


def _match(tag: str) -> Lang:
    """Today's rule for a given tag: anything starting with "en" is English, everything else zh-CN."""
    return "en" if tag.strip().lower().startswith("en") else "zh-CN"


def normalize(tag: str | None) -> Lang:
    """A supported language from a loose tag (zh, zh_CN, zh-Hans, en-US, ...); no tag: the default."""
    if tag and tag.strip():
        return _match(tag)
    return default_lang()


def _setting(value: object) -> object:
    """Validates a language setting: tags are normalised; an empty value means the built-in default."""
    if value is None or isinstance(value, str):
        return _match(value) if value and value.strip() else DEFAULT_LANG
    return value


# The type of a language setting (FEIJIAN_DEFAULT_LANGUAGE): accepts any tag, stores a Lang.
LangSetting = Annotated[Lang, BeforeValidator(_setting)]


@lru_cache(maxsize=1)
def default_lang() -> Lang:
    """The configured default language (FEIJIAN_DEFAULT_LANGUAGE from the environment or .env)."""
    # Imported here so the pure packages pay for settings parsing only when a default is needed.
    from pydantic_settings import BaseSettings, SettingsConfigDict

    class _LanguageSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="FEIJIAN_", env_file=".env", extra="ignore")

        default_language: LangSetting = DEFAULT_LANG

    return _LanguageSettings().default_language


def from_accept_language(header: str | None, default: str | None = None) -> Lang:
    """zh-CN or en from an Accept-Language header: its first en* or zh* tag, else the default."""
    if header:
        for part in header.split(","):
            tag = part.split(";")[0].strip().lower()
            if tag.startswith("en"):
                return "en"
            if tag.startswith("zh"):
                return "zh-CN"
    return normalize(default)


@dataclass(frozen=True)
class Catalog:
    """One domain's compiled messages in one language."""

    translations: gettext.NullTranslations
    msgids: frozenset[str]  # the ids this language translates
    declared: frozenset[str] = frozenset()  # every id in the .po, translated or not

    def lookup(self, msgid: str) -> str | None:
        """The translation of `msgid`, or None when this language does not translate it."""
        if msgid not in self.msgids:
            return None
        return self.translations.gettext(msgid)


def po_path(domain: str, lang: str) -> Path:
    """Where the .po file of a domain in a language lives."""
    return LOCALES_DIR / lang.replace("-", "_") / "LC_MESSAGES" / f"{domain}.po"


@lru_cache(maxsize=32)
def catalog(domain: str, lang: str) -> Catalog:
    """The compiled catalog of a domain in a language (empty when its .po is missing); once per process."""
    path = po_path(domain, normalize(lang))
    if not path.exists():
        return Catalog(gettext.NullTranslations(), frozenset())
    # Babel is imported on first use only: most processes never compile more than a few domains.
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with path.open("rb") as fh:
        po = read_po(fh, locale=path.parent.parent.name)
    buf = io.BytesIO()
    write_mo(buf, po)
    buf.seek(0)
    # Untranslated (empty) and fuzzy entries are left out by write_mo, so gettext falls back to the id.
    ids = frozenset(str(m.id) for m in po if m.id and m.string and not m.fuzzy)
    declared = frozenset(str(m.id) for m in po if m.id)
    return Catalog(gettext.GNUTranslations(buf), ids, declared)


def lookup(domain: str, lang: str | None, msgid: str) -> str | None:
    """The translation of `msgid` in a domain and language, or None when there is none."""
    return catalog(domain, normalize(lang)).lookup(msgid)


def translations(domain: str, lang: str | None) -> gettext.NullTranslations:
    """The gettext translations of a domain in a language (falls back to the message id)."""
    return catalog(domain, normalize(lang)).translations
