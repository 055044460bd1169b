"""Numbers residents type: random application and case numbers with a check character, follow-up codes.

A number is a prefix plus eleven random characters from a 31-letter alphabet (no 0/O, 1/I/L) and one
check character, so one number says nothing about another and a typo is caught before any lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from services.config import get_settings

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
BODY_LENGTH = 11
CODE_LENGTH = 8


def check_char(body: str) -> str:
    """The check character: a position-weighted sum modulo 31 (catches any single typo and most swaps)."""
    total = sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def new_number(prefix: str) -> str:
    """A fresh number such as SQ-ABCD-EFGH-JKLM (the last character is the check character)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return _format(prefix, body + check_char(body))


def _format(prefix: str, chars: str) -> str:
    return f"{prefix}-{chars[0:4]}-{chars[4:8]}-{chars[8:12]}"


def canonical(prefix: str, raw: str) -> str:
    """The stored form of a typed number (spaces, dashes, case and the prefix are optional).

    A malformed number still gets a canonical form (that matches nothing), so every path does the same
    work; `is_valid` says whether the check character agrees.
    """
    chars = "".join(ch for ch in raw.upper() if ch.isalnum())
    if chars.startswith(prefix):
        chars = chars[len(prefix) :]
    chars = chars.replace("0", "O").replace("1", "I")[:24]
    return _format(prefix, chars.ljust(12, "?")) if len(chars) <= 12 else f"{prefix}-{chars}"


def is_valid(prefix: str, number: str) -> bool:
    """Whether a canonical number has the right shape and check character."""
    chars = number[len(prefix) + 1 :].replace("-", "")
    if len(chars) != BODY_LENGTH + 1 or any(ch not in ALPHABET for ch in chars):
        return False
    return check_char(chars[:-1]) == chars[-1]


def new_code() -> str:
    """A secret follow-up code (shown once, stored only as `code_digest`)."""
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def keyed(purpose: str, value: str) -> str:
    """An HMAC under the secret key, for values kept only as hashes (codes, client addresses)."""
    key = get_settings().secret_key_bytes()
    return hmac.new(key, purpose.encode() + b":" + value.encode(), hashlib.sha256).hexdigest()


def code_digest(code: str) -> str:
    """The keyed hash under which a follow-up code is stored."""
    return keyed("case-code", "".join(ch for ch in code.upper() if ch.isalnum()))
