"""The process's PII cipher, built once from settings."""

from __future__ import annotations

from functools import lru_cache

from services.config import get_settings
from services.pii import PiiCipher


@lru_cache(maxsize=4)
def cipher_for(key: bytes) -> PiiCipher:
    """A cipher for one key (cached: HKDF derivation is not free)."""
    return PiiCipher.from_key(key)


def get_cipher() -> PiiCipher:
    """The cipher for the configured FEIJIAN_PII_KEY."""
    return cipher_for(get_settings().pii_key_bytes())
