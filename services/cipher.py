"""The process's PII keyring, built once from settings."""

from __future__ import annotations

from functools import lru_cache

from services.config import Settings, get_settings
from services.pii import PiiCipher, PiiKeyring


@lru_cache(maxsize=4)
def cipher_for(key: bytes) -> PiiCipher:
    """A cipher for one key (cached: HKDF derivation is not free)."""
    return PiiCipher.from_key(key)


@lru_cache(maxsize=4)
def keyring_for(current: bytes, old: tuple[bytes, ...] = ()) -> PiiKeyring:
    """A keyring for the current key and the old ones (cached)."""
    return PiiKeyring(cipher_for(current), tuple(cipher_for(k) for k in old))


def keyring_from(settings: Settings) -> PiiKeyring:
    """The keyring that settings describe; raises SettingsError on a missing or malformed key."""
    return keyring_for(settings.pii_key_bytes(), settings.pii_old_key_bytes())


def get_cipher() -> PiiKeyring:
    """The keyring for FEIJIAN_PII_KEY (writes) plus FEIJIAN_PII_OLD_KEYS (reads during a rotation)."""
    return keyring_from(get_settings())
