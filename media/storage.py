"""Content-addressed blob storage behind a small interface: a local directory or an S3 bucket.

Blobs are named by their SHA-256 (as getodk/central-backend's ``blobs.js`` does): the same bytes
are stored once, a name can never point at other content, and ``verify()`` can prove it.
Originals and derived copies (display copy, thumbnail) live in separate namespaces so derived
files, which can always be regenerated, never mix with evidence.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Final, Literal, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

from media.checks import MAX_BYTES
from media.messages import MediaError

Namespace = Literal["original", "derived"]
NAMESPACES: Final[tuple[Namespace, ...]] = ("original", "derived")
_CHUNK: Final = 1024 * 1024
_SHA_RE: Final = re.compile(r"^[0-9a-f]{64}$")


@runtime_checkable
class BlobStore(Protocol):
    """Where evidence bytes live; every method addresses a blob by its SHA-256, never by a path."""

    def put_stream(
        self, stream: BinaryIO, namespace: Namespace = "original", max_bytes: int | None = MAX_BYTES
    ) -> str:
        """Store a stream (refusing more than ``max_bytes``) and return its SHA-256."""
        ...

    def put_bytes(self, data: bytes, namespace: Namespace = "original") -> str:
        """Store bytes and return their SHA-256."""
        ...

    def put_named(self, stream: BinaryIO, sha256: str, namespace: Namespace = "original") -> None:
        """Store ``stream``'s bytes as they are under the name ``sha256``, replacing what is there.

        The caller vouches for the name (an encrypted blob is named by its plaintext's hash).
        """
        ...

    def open(self, sha256: str, namespace: Namespace = "original") -> BinaryIO:
        """Open a stored blob for reading."""
        ...

    def exists(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Whether the blob is stored."""
        ...

    def delete(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Remove a blob; False if it was not there."""
        ...

    def iter_names(self, namespace: Namespace = "original") -> Iterator[str]:
        """Names of all stored blobs in ``namespace``."""
        ...

    def verify(self, namespace: Namespace = "original") -> Iterator[str]:
        """Re-hash every stored blob and yield the names of those whose content changed."""
        ...


def _check_name(sha256: str) -> str:
    name = sha256.lower()
    if not _SHA_RE.match(name):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return name


def _check_namespace(namespace: str) -> str:
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown namespace {namespace!r}")
    return namespace


class LocalBlobStore:
    """A directory: ``root/<namespace>/ab/cd/abcd...``, written atomically (temp file + os.replace)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str, namespace: str) -> Path:
        name = _check_name(sha256)
        return self.root / _check_namespace(namespace) / name[:2] / name[2:4] / name

    def put_stream(
        self, stream: BinaryIO, namespace: Namespace = "original", max_bytes: int | None = MAX_BYTES
    ) -> str:
        """Store a stream (refusing more than ``max_bytes``) and return its SHA-256."""
        _check_namespace(namespace)
        h = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise MediaError(
                            "too_large",
                            size_mb=f">{max_bytes // (1024 * 1024)}",
                            limit_mb=round(max_bytes / (1024 * 1024), 1),
                        )
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = h.hexdigest()
            final = self._path(sha, namespace)
            if final.exists():
                return sha  # same bytes already stored: keep the one copy
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
            return sha
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def put_bytes(self, data: bytes, namespace: Namespace = "original") -> str:
        """Store bytes and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha, namespace):
            return sha
        return self.put_stream(io.BytesIO(data), namespace, max_bytes=None)

    def put_named(self, stream: BinaryIO, sha256: str, namespace: Namespace = "original") -> None:
        """Store ``stream``'s bytes under the name ``sha256`` atomically, replacing what is there."""
        final = self._path(sha256, namespace)
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(_CHUNK):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, final)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def open(self, sha256: str, namespace: Namespace = "original") -> BinaryIO:
        """Open a stored blob for reading (``MediaError('blob_missing')`` if absent)."""
        path = self._path(sha256, namespace)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise MediaError("blob_missing") from exc

    def exists(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Whether the blob is stored."""
        return self._path(sha256, namespace).is_file()

    def path_of(self, sha256: str, namespace: Namespace = "original") -> Path:
        """Where the blob's file is (or would be)."""
        return self._path(sha256, namespace)

    def delete(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Remove a blob; False if it was not there."""
        try:
            self._path(sha256, namespace).unlink()
        except FileNotFoundError:
            return False
        return True

    def _iter_paths(self, namespace: Namespace) -> Iterator[Path]:
        base = self.root / _check_namespace(namespace)
        if base.is_dir():
            yield from (p for p in sorted(base.glob("*/*/*")) if p.is_file())

    def iter_names(self, namespace: Namespace = "original") -> Iterator[str]:
        """Names of all stored blobs in ``namespace``."""
        for path in self._iter_paths(namespace):
            yield path.name

    def verify(self, namespace: Namespace = "original") -> Iterator[str]:
        """Re-hash every stored blob and yield the names of those whose content changed."""
        for path in self._iter_paths(namespace):
            name = path.name
            if (
                not _SHA_RE.match(name)
                or path.parent.parent.name != name[:2]
                or path.parent.name != name[2:4]
            ):
                yield name
                continue
            h = hashlib.sha256()
            try:
                with path.open("rb") as fh:
                    while chunk := fh.read(_CHUNK):
                        h.update(chunk)
            except OSError:
                yield name
                continue
            if h.hexdigest() != name:
                yield name


@dataclass(frozen=True)
class S3Options:
    """How to reach the object store; None leaves a value to boto3's standard chain (env, config)."""

    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: str = "auto"
    # server-side encryption asked of the object store on every upload: "AES256" or "aws:kms"
    sse: str | None = None
    sse_kms_key_id: str | None = None


def open_blob_store(url: str | os.PathLike[str], s3: S3Options | None = None) -> BlobStore:
    """The store a media URL names: ``s3://bucket/prefix``, ``file:///dir`` or a plain directory."""
    text = os.fspath(url)
    if text.startswith("s3://"):
        from media.s3 import S3BlobStore  # boto3 is imported only when a bucket is configured

        return S3BlobStore.from_url(text, s3)
    if text.startswith("file://"):
        return LocalBlobStore(unquote(urlsplit(text).path))
    if "://" in text:
        raise ValueError(f"unsupported media URL {text!r} (expected s3://bucket/prefix or a directory)")
    return LocalBlobStore(text)
