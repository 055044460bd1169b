"""Personal identifiers: encryption at rest, keyed lookup hashes, masking and ID-number rules."""

from __future__ import annotations

import base64
import hmac
import operator
import os
import re
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


class PiiError(ValueError):
    """Ciphertext that cannot be decrypted with the configured key."""


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"feijian:" + purpose).derive(key)


@dataclass(frozen=True)
class PiiCipher:
    """AES-GCM encryption plus an HMAC lookup hash, both derived from one PII key."""

    enc_key: bytes
    mac_key: bytes
    # one AESGCM per cipher (building one per call costs more than the encryption itself)
    _aead: AESGCM = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.enc_key))

    @classmethod
    def from_key(cls, key: bytes) -> PiiCipher:
        """Derives the two sub-keys so that the lookup hash never reveals the encryption key."""
        return cls(_derive(key, b"enc"), _derive(key, b"mac"))

    def encrypt(self, plain: str | None) -> str | None:
        """Encrypts a value (random nonce), returning text safe for a VARCHAR column."""
        if plain is None or plain == "":
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain.encode(), b"feijian-pii")
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        """Decrypts a value written by encrypt; raises PiiError on a wrong key or tampering."""
        if token is None:
            return None
        if not token.startswith(_PREFIX):
            raise PiiError("unknown ciphertext format")
        try:
            raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode())
            return self._aead.decrypt(raw[:12], raw[12:], b"feijian-pii").decode()
        except Exception as exc:  # cryptography raises InvalidTag; base64 raises binascii.Error
            raise PiiError("cannot decrypt personal data with the configured key") from exc

    def lookup_hash(self, plain: str | None) -> str | None:
        """Keyed hash of the normalised value, for exact-match lookup without decrypting."""
        if plain is None or plain == "":
            return None
        # one-shot HMAC in OpenSSL: the same digest as hmac.new(...).hexdigest(), without the Python wrapper
        return hmac.digest(self.mac_key, plain.strip().upper().encode(), "sha256").hex()


def mask_id(value: str | None) -> str | None:
    """Masks an ID number as 110101********1234 (first six and last four kept)."""
    if not value:
        return value
    if len(value) <= 10:
        return value[:2] + "*" * max(len(value) - 4, 0) + value[-2:]
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str | None:
    """Masks a phone number as 138****5678."""
    if not value:
        return value
    digits = value.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(value: str | None) -> str | None:
    """Masks a Chinese personal name: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not value:
        return value
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else value


def normalize_id(value: str) -> str:
    """Upper-cases the check letter and strips spaces."""
    return "".join(value.split()).upper()


def id_number_problem(value: str) -> str | None:
    """Why a resident ID number (GB 11643) is invalid, or None if it is valid."""
    v = normalize_id(value)
    if not _ID_RE.match(v):
        return "id_format"
    total = sum(map(operator.mul, map(int, v[:17]), _WEIGHTS))
    if _CHECK[total % 11] != v[17]:
        return "id_checksum"
    if id_birth_date(v) is None:
        return "id_birthdate"
    return None


def id_birth_date(value: str) -> date | None:
    """The birth date encoded in an 18-digit ID number, or None if it is not a real past date."""
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None
    if born.year < 1890 or born > date.today():
        return None
    return born


def id_check_char(first17: str) -> str:
    """The GB 11643 check character for the first 17 digits (used by generators and tests)."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


PHONE_RE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$")


def normalize_phone(value: str) -> str:
    """Keeps the digits (and a leading +) of a phone number."""
    v = value.strip()
    plus = v.startswith("+")
    digits = re.sub(r"\D", "", v)
    return ("+" if plus else "") + digits
