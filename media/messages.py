"""Media errors and verdict reasons by stable code: texts in locales/<lang>/LC_MESSAGES/media.po.

Codes are stable identifiers (stored, matched in tests and mapped by the edges); the wording may
change. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from contracts.evidence import PositionSource
from locales.lang import LANGS, Lang, lookup

__all__ = ["DOMAIN", "LANGS", "SOURCE_NAMES", "Lang", "MediaError", "render"]

DOMAIN = "media"


class _SourceNames(Mapping[str, dict[str, str]]):
    """Position source -> its name in each language, read from the catalog (ids ``source.<name>``)."""

    _SOURCES = tuple(s.value for s in PositionSource)

    def __getitem__(self, source: str) -> dict[str, str]:
        if source not in self._SOURCES:
            raise KeyError(source)
        return {lang: render(f"source.{source}", lang) for lang in LANGS}

    def __iter__(self) -> Iterator[str]:
        return iter(self._SOURCES)

    def __len__(self) -> int:
        return len(self._SOURCES)


SOURCE_NAMES: Mapping[str, dict[str, str]] = _SourceNames()


class _Missing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(code: str, lang: Lang = "zh-CN", **params: object) -> str:
    """Render the catalog message for ``code`` in ``lang`` (unknown codes render as the code)."""
    template = lookup(DOMAIN, lang, code) or lookup(DOMAIN, "en", code)
    if template is None:
        return code
    return template.format_map(_Missing(params))


class MediaError(Exception):
    """A rejected input: a stable ``code``, its parameters, and ``message(lang)`` in zh-CN or en."""

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: dict[str, object] = dict(params)
        super().__init__(f"{code}: {render(code, 'en', **params)}")

    def message(self, lang: Lang = "zh-CN") -> str:
        """The human message in ``lang``."""
        return render(self.code, lang, **self.params)

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready description of the error."""
        return {
            "code": self.code,
            "params": {
                k: v if isinstance(v, int | float | str | None) else str(v) for k, v in self.params.items()
            },
            "message": {lang: self.message(lang) for lang in LANGS},
        }
