"""Strict number input: the one parser for typed numbers, used by the engine and the bot.

A typed amount is money or a head count on an official record, so anything that could be read two
ways is refused rather than guessed. Accepted: ASCII and full-width digits (０-９, ．，－＋ and the
ideographic space), a sign (a minus only where negatives are allowed), one decimal point, spaces
around the number, and a unit word the step declares after it ("560 元"). Refused, each with its own
code: exponents ("1e3"), digit grouping ("1,000", "1 000", "1_000"), a decimal comma ("3,5", raised as
`AmbiguousNumber` so a conversation can ask "did you mean 3.5?"), several points, NaN and infinity,
hex, and more significant digits than a float keeps exactly.

Results are `Decimal` (or `int` for integer steps), never a float parsed from text: Python's
`float()` accepts "1_000", "1e3", "nan" and non-ASCII digits, which is exactly what must not pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Final

from checklists.messages import ChecklistError

__all__ = ["MAX_DIGITS", "AmbiguousNumber", "canonical_number", "parse_number"]

# Floats keep 15 significant decimal digits exactly; the engine stores answers as JSON numbers.
MAX_DIGITS: Final = 15
_MAX_TEXT: Final = 64  # no real answer is longer; keeps the regexes on short input

_PLAIN: Final = re.compile(r"(?P<sign>[+-]?)(?P<body>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_EXPONENT: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][+-]?[0-9]+")
# One comma followed by one or two digits: a decimal comma ("3,5") or a slip? Never guessed.
_DECIMAL_COMMA: Final = re.compile(r"(?P<sign>[+-]?)(?P<int>[0-9]+),(?P<frac>[0-9]{1,2})")
# Digits broken up by grouping marks (with or without a decimal part, in either convention).
_GROUPED: Final = re.compile(r"[+-]?[0-9][0-9.,_' \u00a0\u202f]*[0-9]")
_GROUP_MARKS: Final = frozenset(",_' \u00a0\u202f")


class AmbiguousNumber(ChecklistError):
    """A number typed with a decimal comma ("3,5"): refused, with the reading to offer for confirmation."""

    def __init__(
        self, typed: str, candidate: Decimal, *, lang: str | None = None, step_id: str | None = None
    ) -> None:
        self.typed = typed
        self.candidate = candidate
        super().__init__(
            "number_decimal_comma", lang=lang, step_id=step_id, typed=typed, value=canonical_number(candidate)
        )


def _fold(text: str) -> str:
    """Full-width forms to ASCII; nothing else is folded (NFKC would also turn "5²" into "52")."""
    return "".join(
        unicodedata.normalize("NFKC", c) if "\uff01" <= c <= "\uff5e" or c == "\u3000" else c for c in text
    )


def _strip_unit(text: str, units: Iterable[str]) -> str:
    low = text.lower()
    for unit in sorted({u.strip() for u in units if u.strip()}, key=len, reverse=True):
        if low.endswith(unit.lower()):
            return text[: -len(unit)].rstrip()
    return text


def _significant(d: Decimal) -> int:
    return 0 if d == 0 else len(d.normalize().as_tuple().digits)


def _finish(d: Decimal, integer: bool, lang: str | None, step_id: str | None) -> Decimal | int:
    if not d.is_finite():
        raise ChecklistError("not_a_number", lang=lang, step_id=step_id)
    if integer and d != d.to_integral_value():
        raise ChecklistError("not_an_integer", lang=lang, step_id=step_id)
    if _significant(d) > MAX_DIGITS:
        raise ChecklistError("number_too_long", lang=lang, step_id=step_id, max=MAX_DIGITS)
    return int(d) if integer else d


def _from_value(raw: object, integer: bool, lang: str | None, step_id: str | None) -> Decimal | int:
    """A number that arrived as a number (a stored answer being replayed, a JSON client)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal):
        raise ChecklistError("not_a_number", lang=lang, step_id=step_id)
    if isinstance(raw, float):
        # repr is the shortest text that reads back as this float: 0.1 stays 0.1, not 0.1000000000000000055...
        try:
            d = Decimal(repr(raw))
        except InvalidOperation:
            raise ChecklistError("not_a_number", lang=lang, step_id=step_id) from None
    else:
        d = Decimal(raw)
    return _finish(d, integer, lang, step_id)


def parse_number(
    raw: object,
    *,
    integer: bool = False,
    negative: bool = True,
    units: Iterable[str] = (),
    lang: str | None = None,
    step_id: str | None = None,
) -> Decimal | int:
    """Parse a typed (or stored) number strictly; raises ChecklistError, or AmbiguousNumber for "3,5"."""
    if not isinstance(raw, str):
        return _from_value(raw, integer, lang, step_id)
    typed = raw.strip()
    text = _strip_unit(_fold(raw).strip(), units)
    if not text or len(text) > _MAX_TEXT:
        raise ChecklistError("not_a_number", lang=lang, step_id=step_id)
    m = _PLAIN.fullmatch(text)
    if m is None:
        raise _refusal(text, typed, lang, step_id)
    if m["sign"] == "-" and not negative:
        raise ChecklistError("number_negative", lang=lang, step_id=step_id)
    body = m["body"]
    d = Decimal(f"{m['sign']}{'0' if body.startswith('.') else ''}{body.rstrip('.')}")
    return _finish(d, integer, lang, step_id)


def _refusal(text: str, typed: str, lang: str | None, step_id: str | None) -> ChecklistError:
    """The precise reason a text that is not a plain number is refused."""
    if _EXPONENT.fullmatch(text):
        return ChecklistError("number_exponent", lang=lang, step_id=step_id)
    m = _DECIMAL_COMMA.fullmatch(text)
    if m is not None:
        candidate = Decimal(f"{m['sign']}{m['int']}.{m['frac']}")
        return AmbiguousNumber(typed, candidate, lang=lang, step_id=step_id)
    if _GROUPED.fullmatch(text) and any(c in _GROUP_MARKS for c in text):
        return ChecklistError("number_grouping", lang=lang, step_id=step_id)
    return ChecklistError("not_a_number", lang=lang, step_id=step_id)


def canonical_number(value: Decimal | int | float) -> str:
    """A number as plain text with no exponent and no trailing zeros ("3.5", "1000", "-0.25")."""
    d = value if isinstance(value, Decimal) else Decimal(repr(value) if isinstance(value, float) else value)
    return format(d.normalize(), "f")
