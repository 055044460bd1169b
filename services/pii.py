"""Personal identifiers: encryption at rest, keyed lookup hashes, masking and ID-number rules."""

from __future__ import annotations

import base64
import binascii
import hmac
import operator
import os
import re
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"  # legacy tokens: no key id, written before key rotation existed
_PREFIX_V2 = "v2:"  # v2:<key id>:<base64>, the key id being a short fingerprint of the PII key
_URLSAFE = bytes.maketrans(b"+/", b"-_")
_AAD = b"feijian-pii"
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_WEIGHT_SUM_48 = 48 * sum(_WEIGHTS)
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
    key_id: str = ""  # a short public fingerprint of the key; empty only for hand-built ciphers
    # one AESGCM per cipher (building one per call costs more than the encryption itself)
    _aead: AESGCM = field(init=False, repr=False, compare=False, hash=False)

    _prefix: str = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_aead", AESGCM(self.enc_key))
        object.__setattr__(self, "_prefix", f"{_PREFIX_V2}{self.key_id}:" if self.key_id else _PREFIX)

    @classmethod
    def from_key(cls, key: bytes) -> PiiCipher:
        """Derives the two sub-keys so that the lookup hash never reveals the encryption key."""
        return cls(_derive(key, b"enc"), _derive(key, b"mac"), key_fingerprint(key))

    @property
    def prefix(self) -> str:
        """The prefix of every token this cipher writes."""
        return self._prefix

    def encrypt(self, plain: str | None) -> str | None:
        """Encrypts a value (random nonce), returning text safe for a VARCHAR column."""
        if plain is None or plain == "":
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain.encode(), _AAD)
        # binascii directly: base64.urlsafe_b64encode is this plus two Python calls
        return self._prefix + binascii.b2a_base64(nonce + sealed, newline=False).translate(_URLSAFE).decode()

    def encrypt_many(self, plains: list[str | None]) -> list[str | None]:
        """encrypt over a list (bulk imports): one random read for all the nonces, names bound once."""
        nonces = os.urandom(12 * len(plains))
        seal, b64, prefix = self._aead.encrypt, binascii.b2a_base64, self._prefix
        out: list[str | None] = []
        append = out.append
        for i, plain in enumerate(plains):
            if not plain:
                append(None)
                continue
            nonce = nonces[12 * i : 12 * i + 12]
            append(
                prefix
                + b64(nonce + seal(nonce, plain.encode(), _AAD), newline=False).translate(_URLSAFE).decode()
            )
        return out

    def lookup_hash_many(self, plains: list[str | None]) -> list[str | None]:
        """lookup_hash over a list (bulk imports)."""
        key, digest = self.mac_key, hmac.digest
        return [digest(key, p.strip().upper().encode(), "sha256").hex() if p else None for p in plains]

    def decrypt(self, token: str | None) -> str | None:
        """Decrypts a value written by encrypt; raises PiiError on a wrong key or tampering."""
        if token is None:
            return None
        kid, body = token_key_id(token)
        if kid is not None and kid != self.key_id:
            raise PiiError(f"personal data is under key {kid}, not the configured key {self.key_id}")
        try:
            raw = base64.urlsafe_b64decode(body.encode())
            return self._aead.decrypt(raw[:12], raw[12:], _AAD).decode()
        except Exception as exc:  # cryptography raises InvalidTag; base64 raises binascii.Error
            raise PiiError("cannot decrypt personal data with the configured key") from exc

    def lookup_hash(self, plain: str | None) -> str | None:
        """Keyed hash of the normalised value, for exact-match lookup without decrypting."""
        if plain is None or plain == "":
            return None
        # one-shot HMAC in OpenSSL: the same digest as hmac.new(...).hexdigest(), without the Python wrapper
        return hmac.digest(self.mac_key, plain.strip().upper().encode(), "sha256").hex()


def key_fingerprint(key: bytes) -> str:
    """A short public id of a PII key (8 hex digits), derived so that it reveals nothing of the key."""
    return _derive(key, b"key-id")[:4].hex()


def token_key_id(token: str) -> tuple[str | None, str]:
    """The key id a token names (None for a legacy v1 token) and its base64 body."""
    if token.startswith(_PREFIX):
        return None, token[len(_PREFIX) :]
    if token.startswith(_PREFIX_V2):
        kid, sep, body = token[len(_PREFIX_V2) :].partition(":")
        if sep:
            return kid, body
    raise PiiError("unknown ciphertext format")


@dataclass(frozen=True)
class PiiKeyring:
    """The current PII key plus old keys still accepted for reading while a rotation runs.

    Writes and new lookup hashes use the current key. A token names its key id, so reading picks
    the right key; a legacy token (no key id) is tried with every key, current first. A lookup by
    keyed hash must search `lookup_hashes` (one hash per key) until the rotation has finished.
    """

    current: PiiCipher
    old: tuple[PiiCipher, ...] = ()
    _by_id: dict[str, PiiCipher] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        by_id = {c.key_id: c for c in reversed(self.old)}
        by_id[self.current.key_id] = self.current
        object.__setattr__(self, "_by_id", by_id)
        # an old key equal to the current one is dropped (it would only double every lookup)
        kept = tuple(c for c in self.old if c.key_id != self.current.key_id)
        object.__setattr__(self, "old", tuple({c.key_id: c for c in kept}.values()))

    @classmethod
    def from_keys(cls, current: bytes, old: tuple[bytes, ...] = ()) -> PiiKeyring:
        """A keyring from raw 32-byte keys."""
        return cls(PiiCipher.from_key(current), tuple(PiiCipher.from_key(k) for k in old))

    @property
    def key_id(self) -> str:
        """The current key's id."""
        return self.current.key_id

    @property
    def prefix(self) -> str:
        """The prefix of a token under the current key."""
        return self.current.prefix

    @property
    def ciphers(self) -> tuple[PiiCipher, ...]:
        """Every configured key, current first."""
        return (self.current, *self.old)

    def encrypt(self, plain: str | None) -> str | None:
        """Encrypts under the current key."""
        return self.current.encrypt(plain)

    def decrypt(self, token: str | None) -> str | None:
        """Decrypts with the key the token names (legacy tokens: whichever configured key opens them)."""
        if token is None:
            return None
        kid, _ = token_key_id(token)
        if kid is not None:
            cipher = self._by_id.get(kid)
            if cipher is None:
                raise PiiError(
                    f"personal data is under key {kid}, which is neither FEIJIAN_PII_KEY "
                    "nor one of FEIJIAN_PII_OLD_KEYS"
                )
            return cipher.decrypt(token)
        for cipher in self.ciphers:
            try:
                return cipher.decrypt(token)
            except PiiError:
                continue
        raise PiiError("cannot decrypt legacy personal data with FEIJIAN_PII_KEY or FEIJIAN_PII_OLD_KEYS")

    def is_current(self, token: str | None) -> bool:
        """Whether a token is already under the current key (None counts as done)."""
        return token is None or token.startswith(self.current.prefix)

    def lookup_hash(self, plain: str | None) -> str | None:
        """The keyed hash under the current key (what is written)."""
        return self.current.lookup_hash(plain)

    def lookup_hashes(self, plain: str | None) -> list[str]:
        """The keyed hash under every configured key: what a lookup must search during a rotation."""
        out: list[str] = []
        for cipher in self.ciphers:
            digest = cipher.lookup_hash(plain)
            if digest is not None and digest not in out:
                out.append(digest)
        return out


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
    if v.isascii():  # on the codes: sum(w * (c - 48)) = sum(w * c) - 48 * sum(w), no int() per digit
        total = sum(map(operator.mul, v[:17].encode(), _WEIGHTS)) - _WEIGHT_SUM_48
    else:  # other Unicode digits, which int() reads
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
