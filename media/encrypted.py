"""An encrypting wrapper around any ``BlobStore`` (a local directory or an S3 bucket).

Blobs in the encrypted namespaces (originals always; derived copies when configured) are written
as envelopes (``media.envelope``) under the SHA-256 of their plaintext, so the same photo is stored
once and ``verify`` still proves every name: it decrypts and re-hashes. Plaintext blobs written
before encryption was turned on stay readable; ``encrypt_existing`` rewrites one in place.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

from media.checks import MAX_BYTES
from media.envelope import (
    MAGIC,
    EnvelopeError,
    MediaKeyring,
    encrypt_stream,
    is_envelope,
    open_plain,
    plain_sha256,
)
from media.messages import MediaError
from media.storage import _SHA_RE, BlobStore, Namespace, _check_name, _check_namespace


class EncryptedBlobStore:
    """``inner`` with the blobs of ``namespaces`` encrypted under ``keyring``."""

    def __init__(
        self,
        inner: BlobStore,
        keyring: MediaKeyring,
        namespaces: tuple[Namespace, ...] = ("original",),
    ) -> None:
        self.inner = inner
        self.keyring = keyring
        self.namespaces = namespaces

    def encrypts(self, namespace: Namespace) -> bool:
        """Whether new blobs of ``namespace`` are encrypted."""
        return _check_namespace(namespace) in self.namespaces

    def _put_encrypted(
        self, stream: BinaryIO, namespace: Namespace, max_bytes: int | None, expect: str | None
    ) -> str:
        with tempfile.TemporaryFile(prefix="enc-") as spool:
            sha, _ = encrypt_stream(stream, spool, self.keyring, max_bytes)
            if expect is not None and sha != expect:
                raise ValueError(f"the bytes hash to {sha}, not {expect}")
            if expect is None and self.inner.exists(sha, namespace):
                return sha  # same bytes already stored: keep the one copy
            spool.seek(0)
            self.inner.put_named(spool, sha, namespace)
        return sha

    def put_stream(
        self, stream: BinaryIO, namespace: Namespace = "original", max_bytes: int | None = MAX_BYTES
    ) -> str:
        """Store a stream (encrypted in the encrypted namespaces) and return its plaintext SHA-256."""
        if not self.encrypts(namespace):
            return self.inner.put_stream(stream, namespace, max_bytes)
        return self._put_encrypted(stream, namespace, max_bytes, None)

    def put_bytes(self, data: bytes, namespace: Namespace = "original") -> str:
        """Store bytes and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha, namespace):
            return sha
        return self.put_stream(io.BytesIO(data), namespace, max_bytes=None)

    def put_named(self, stream: BinaryIO, sha256: str, namespace: Namespace = "original") -> None:
        """Store plaintext ``stream`` under ``sha256`` (refused when it does not hash to that name)."""
        if not self.encrypts(namespace):
            self.inner.put_named(stream, sha256, namespace)
            return
        self._put_encrypted(stream, namespace, None, _check_name(sha256))

    def open(self, sha256: str, namespace: Namespace = "original") -> BinaryIO:
        """The plaintext of a stored blob, encrypted or not."""
        try:
            stream, _ = open_plain(self.inner.open(sha256, namespace), self.keyring)
        except EnvelopeError as exc:
            raise MediaError("blob_missing") from exc
        return stream

    def is_encrypted(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Whether the stored blob is an envelope."""
        with self.inner.open(sha256, namespace) as raw:
            return is_envelope(raw.read(len(MAGIC)))

    def exists(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Whether the blob is stored."""
        return self.inner.exists(sha256, namespace)

    def delete(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Remove a blob; False if it was not there."""
        return self.inner.delete(sha256, namespace)

    def iter_names(self, namespace: Namespace = "original") -> Iterator[str]:
        """Names of all stored blobs in ``namespace``."""
        return self.inner.iter_names(namespace)

    def stored_plain_hash(self, sha256: str, namespace: Namespace = "original") -> str | None:
        """The SHA-256 of the blob's plaintext, re-computed now; None when it is missing or does not
        decrypt (a changed envelope fails authentication)."""
        try:
            raw = self.inner.open(sha256, namespace)
        except MediaError as exc:
            if exc.code == "blob_missing":
                return None
            raise
        try:
            return plain_sha256(raw, self.keyring)
        except EnvelopeError:
            return None

    def verify(self, namespace: Namespace = "original") -> Iterator[str]:
        """Decrypt (where encrypted) and re-hash every blob; yield the names whose content changed."""
        for name in self.inner.iter_names(namespace):
            if not _SHA_RE.match(name):
                yield name
                continue
            try:
                actual = self.stored_plain_hash(name, namespace)
            except (MediaError, OSError):
                yield name
                continue
            if actual != name:
                yield name

    def encrypt_existing(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Rewrite a plaintext blob as an envelope, proven by decrypting it back; False if it already
        was one. Raises ValueError when the plaintext no longer matches its name (left untouched)."""
        name = _check_name(sha256)
        with self.inner.open(name, namespace) as raw:
            stream, encrypted = open_plain(raw, self.keyring)
            if encrypted:
                return False
            with tempfile.TemporaryFile(prefix="enc-") as spool:
                sha, _ = encrypt_stream(stream, spool, self.keyring, max_bytes=None)
                if sha != name:
                    raise ValueError(f"the stored bytes hash to {sha}, not {name} (not encrypted)")
                spool.seek(0)
                self.inner.put_named(spool, name, namespace)
        if not self.is_encrypted(name, namespace) or self.stored_plain_hash(name, namespace) != name:
            raise ValueError("read back, the encrypted blob does not decrypt to its SHA-256")
        return True
