"""Evidence originals encrypted at rest: a streaming AES-GCM envelope with a per-file data key.

Layout of an encrypted blob (all integers big-endian)::

    magic       8  b"FJENC1\\x00\\n"
    key id      8  which master key wrapped the data key (first bytes of a hash of that key)
    wrap nonce 12  nonce used to wrap the data key
    wrapped    48  AES-GCM(master key).encrypt(wrap nonce, data key, aad=magic + key id)
    prefix      7  random nonce prefix of the segments
    segment     4  plaintext bytes per segment (1 MiB)
    segments       AES-GCM(data key) of each segment, nonce = prefix + counter (4) + final flag (1),
                   associated data = the whole header above

This is the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár 2015): each segment is
authenticated, segments cannot be reordered (counter in the nonce) and the file cannot be cut at a
segment boundary unnoticed (only the last segment decrypts with the final flag). A file is
encrypted and decrypted one segment at a time, so big files never sit whole in memory.

Blobs keep their names: the SHA-256 of the PLAINTEXT, so dedup and ``verify`` (decrypt, re-hash)
mean what they meant before. A blob without the magic is a plaintext blob written before
encryption was turned on and is read as it is.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from media.checks import MAX_BYTES
from media.messages import MediaError

MAGIC: Final = b"FJENC1\x00\n"
SEGMENT: Final = 1024 * 1024
_TAG: Final = 16
_KEY_ID_LEN: Final = 8
_HEADER: Final = struct.Struct(">8s8s12s48s7sI")
HEADER_LEN: Final = _HEADER.size


class EnvelopeError(ValueError):
    """An encrypted blob cannot be opened: unknown key, or bytes changed or cut off."""


def key_id(master: bytes) -> bytes:
    """The 8-byte id of a master key (stored in each header; reveals nothing usable about the key)."""
    return hashlib.sha256(b"feijian-media-key-id\x00" + master).digest()[:_KEY_ID_LEN]


@dataclass(frozen=True)
class MediaKeyring:
    """The master key new files are wrapped with, and older ones still accepted for reading."""

    current: bytes
    old: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        for k in (self.current, *self.old):
            if len(k) != 32:
                raise ValueError("a media master key is 32 bytes")

    @classmethod
    def of(cls, current: bytes, old: Sequence[bytes] = ()) -> MediaKeyring:
        """A keyring from raw keys."""
        return cls(current, tuple(old))

    def find(self, kid: bytes) -> bytes:
        """The master key with this id (EnvelopeError when none of the configured keys has it)."""
        for k in (self.current, *self.old):
            if key_id(k) == kid:
                return k
        raise EnvelopeError(f"no configured media key has id {kid.hex()} (set FEIJIAN_MEDIA_OLD_KEYS)")


def _read_full(stream: BinaryIO, n: int) -> bytes:
    """Exactly ``n`` bytes unless the stream ends first (raw streams may return short reads)."""
    parts: list[bytes] = []
    left = n
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    if index >= 2**32:
        raise EnvelopeError("file too large for the envelope")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if final else b"\x00")


def _too_large(max_bytes: int) -> MediaError:
    return MediaError(
        "too_large", size_mb=f">{max_bytes // (1024 * 1024)}", limit_mb=round(max_bytes / (1024 * 1024), 1)
    )


def encrypt_stream(
    src: BinaryIO,
    dst: BinaryIO,
    keyring: MediaKeyring,
    max_bytes: int | None = MAX_BYTES,
    segment: int = SEGMENT,
) -> tuple[str, int]:
    """Encrypt ``src`` into ``dst`` segment by segment; returns the plaintext's SHA-256 and size."""
    data_key = AESGCM.generate_key(bit_length=256)
    kid = key_id(keyring.current)
    wrap_nonce = secrets.token_bytes(12)
    wrapped = AESGCM(keyring.current).encrypt(wrap_nonce, data_key, MAGIC + kid)
    prefix = secrets.token_bytes(7)
    header = _HEADER.pack(MAGIC, kid, wrap_nonce, wrapped, prefix, segment)
    dst.write(header)
    aead = AESGCM(data_key)
    h = hashlib.sha256()
    size = 0
    index = 0
    current = _read_full(src, segment)
    while True:
        following = _read_full(src, segment) if len(current) == segment else b""
        size += len(current)
        if max_bytes is not None and size > max_bytes:
            raise _too_large(max_bytes)
        h.update(current)
        final = not following
        dst.write(aead.encrypt(_nonce(prefix, index, final), current, header))
        if final:
            return h.hexdigest(), size
        current = following
        index += 1


def encrypt_bytes(data: bytes, keyring: MediaKeyring) -> bytes:
    """``data`` as an envelope (small files and tests)."""
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, keyring, max_bytes=None)
    return out.getvalue()


class DecryptingReader(io.RawIOBase):
    """The plaintext of an envelope, read segment by segment (the header's magic already consumed)."""

    def __init__(self, raw: BinaryIO, keyring: MediaKeyring, magic: bytes = MAGIC) -> None:
        self._raw = raw
        rest = _read_full(raw, HEADER_LEN - len(magic))
        if magic != MAGIC or len(rest) != HEADER_LEN - len(magic):
            raise EnvelopeError("not an envelope or truncated header")
        self._header = magic + rest
        _, kid, wrap_nonce, wrapped, self._prefix, self._segment = _HEADER.unpack(self._header)
        if not 0 < self._segment <= 64 * SEGMENT:
            raise EnvelopeError("bad segment size")
        try:
            data_key = AESGCM(keyring.find(kid)).decrypt(wrap_nonce, wrapped, MAGIC + kid)
        except InvalidTag as exc:
            raise EnvelopeError("the data key does not unwrap: header changed") from exc
        self._aead = AESGCM(data_key)
        self._index = 0
        self._next = _read_full(raw, self._segment + _TAG)
        self._buf = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def _advance(self) -> None:
        current = self._next
        if len(current) < _TAG:
            raise EnvelopeError("truncated envelope")
        self._next = (
            _read_full(self._raw, self._segment + _TAG) if len(current) == self._segment + _TAG else b""
        )
        final = not self._next
        try:
            self._buf = self._aead.decrypt(_nonce(self._prefix, self._index, final), current, self._header)
        except InvalidTag as exc:
            raise EnvelopeError(f"segment {self._index} does not authenticate: bytes changed or cut") from exc
        self._index += 1
        self._done = final

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._buf and not self._done:
            self._advance()
        n = min(len(view), len(self._buf))
        view[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


class _Prefixed(io.RawIOBase):
    """A stream whose first bytes were already read: give them back, then the rest."""

    def __init__(self, head: bytes, raw: BinaryIO) -> None:
        self._head = head
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._raw.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()


def is_envelope(head: bytes) -> bool:
    """Whether bytes start like an envelope."""
    return head[: len(MAGIC)] == MAGIC


def open_plain(raw: BinaryIO, keyring: MediaKeyring | None) -> tuple[BinaryIO, bool]:
    """The plaintext of a stored blob, and whether it was encrypted (a plaintext blob passes through)."""
    head = _read_full(raw, len(MAGIC))
    if not is_envelope(head):
        return io.BufferedReader(_Prefixed(head, raw), SEGMENT), False
    if keyring is None:
        raw.close()
        raise EnvelopeError("the blob is encrypted and FEIJIAN_MEDIA_KEY is not set")
    return io.BufferedReader(DecryptingReader(raw, keyring, head), SEGMENT), True


def plain_sha256(raw: BinaryIO, keyring: MediaKeyring | None) -> str:
    """The SHA-256 of a stored blob's plaintext (EnvelopeError when it does not decrypt)."""
    stream, _ = open_plain(raw, keyring)
    h = hashlib.sha256()
    with stream:
        while chunk := stream.read(SEGMENT):
            h.update(chunk)
    return h.hexdigest()
