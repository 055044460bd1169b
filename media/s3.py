"""Content-addressed blob storage on an S3-compatible object store (AWS S3, MinIO, Ceph RGW, moto).

Same naming as ``LocalBlobStore``: the object key is ``<prefix>/<namespace>/ab/cd/<sha256>``, so the
same bytes are stored once and ``verify()`` can prove that no object was changed. An upload is first
spooled to a temporary file while it is hashed and its size capped; only then is the object written
(with its SHA-256 as an S3 checksum the server checks, and as metadata), and not at all when an object
of that name is already there.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Final
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from media.checks import MAX_BYTES
from media.messages import MediaError
from media.storage import _SHA_RE, Namespace, S3Options, _check_name, _check_namespace

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
else:
    S3Client = Any

_CHUNK: Final = 1024 * 1024
_MISSING_CODES: Final = frozenset({"404", "NoSuchKey", "NotFound"})


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (bucket, ``some/prefix``); raises ValueError when malformed."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"not an s3://bucket/prefix URL: {url!r}")
    if parts.query or parts.fragment:
        raise ValueError(f"an s3:// media URL takes no query or fragment: {url!r}")
    return parts.netloc, parts.path.strip("/")


@lru_cache(maxsize=8)
def _client(options: S3Options) -> S3Client:
    """One client per set of options (boto3 clients are thread-safe and slow to build)."""
    config = Config(
        s3={"addressing_style": options.addressing_style},  # type: ignore[arg-type]
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
    )
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=options.endpoint_url,
        region_name=options.region,
        aws_access_key_id=options.access_key_id,
        aws_secret_access_key=options.secret_access_key,
        config=config,
    )
    return client


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _MISSING_CODES


class _BodyReader(io.RawIOBase):
    """A botocore streaming body as a raw binary stream (so it can be buffered like a file)."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


class S3BlobStore:
    """Blobs in ``bucket`` under ``prefix``: ``<prefix>/<namespace>/ab/cd/abcd...``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        options: S3Options | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.options = options or S3Options()
        self.client = _client(self.options)
        self._spool_dir = Path(spool_dir) if spool_dir is not None else None

    @classmethod
    def from_url(cls, url: str, options: S3Options | None = None) -> S3BlobStore:
        """The store an ``s3://bucket/prefix`` URL names."""
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, options)

    @property
    def url(self) -> str:
        """This store as an ``s3://`` URL."""
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")

    def _base(self, namespace: str) -> str:
        ns = _check_namespace(namespace)
        return f"{self.prefix}/{ns}/" if self.prefix else f"{ns}/"

    def key(self, sha256: str, namespace: Namespace = "original") -> str:
        """The object key of a blob."""
        name = _check_name(sha256)
        return f"{self._base(namespace)}{name[:2]}/{name[2:4]}/{name}"

    def _unavailable(self, exc: Exception) -> MediaError:
        return MediaError("store_unavailable", store=self.url, reason=type(exc).__name__)

    def put_stream(
        self, stream: BinaryIO, namespace: Namespace = "original", max_bytes: int | None = MAX_BYTES
    ) -> str:
        """Store a stream (refusing more than ``max_bytes``) and return its SHA-256."""
        _check_namespace(namespace)
        h = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile(prefix="put-", dir=self._spool_dir) as spool:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise MediaError(
                        "too_large",
                        size_mb=f">{max_bytes // (1024 * 1024)}",
                        limit_mb=round(max_bytes / (1024 * 1024), 1),
                    )
                h.update(chunk)
                spool.write(chunk)
            sha = h.hexdigest()
            if self.exists(sha, namespace):
                return sha  # same bytes already stored: keep the one copy
            spool.seek(0)
            self._upload(spool, sha, namespace, h.digest())
        return sha

    def _upload(self, body: BinaryIO, sha: str, namespace: Namespace, digest: bytes) -> None:
        extra: dict[str, Any] = {}
        if self.options.sse:
            extra["ServerSideEncryption"] = self.options.sse
            if self.options.sse == "aws:kms" and self.options.sse_kms_key_id:
                extra["SSEKMSKeyId"] = self.options.sse_kms_key_id
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(sha, namespace),
                Body=body,
                ChecksumSHA256=base64.b64encode(digest).decode(),
                Metadata={"sha256": sha},
                ContentType="application/octet-stream",
                **extra,
            )
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc

    def upload_file(self, path: Path, sha256: str, namespace: Namespace = "original") -> None:
        """Write a local file as the blob ``sha256``, replacing what is there (used by migration)."""
        h = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
            fh.seek(0)
            # the checksum is of the bytes sent: an encrypted blob's bytes are not its name's
            self._upload(fh, _check_name(sha256), namespace, h.digest())

    def put_named(self, stream: BinaryIO, sha256: str, namespace: Namespace = "original") -> None:
        """Store ``stream``'s bytes as they are under the name ``sha256``, replacing what is there."""
        name = _check_name(sha256)
        h = hashlib.sha256()
        with tempfile.TemporaryFile(prefix="put-", dir=self._spool_dir) as spool:
            while chunk := stream.read(_CHUNK):
                h.update(chunk)
                spool.write(chunk)
            spool.seek(0)
            self._upload(spool, name, namespace, h.digest())

    def put_bytes(self, data: bytes, namespace: Namespace = "original") -> str:
        """Store bytes and return their SHA-256."""
        sha = hashlib.sha256(data).hexdigest()
        if self.exists(sha, namespace):
            return sha
        return self.put_stream(io.BytesIO(data), namespace, max_bytes=None)

    def open(self, sha256: str, namespace: Namespace = "original") -> BinaryIO:
        """Open a stored blob for reading (``MediaError('blob_missing')`` if absent)."""
        key = self.key(sha256, namespace)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _is_missing(exc):
                raise MediaError("blob_missing") from exc
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
        return io.BufferedReader(_BodyReader(response["Body"]), _CHUNK)

    def exists(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Whether the blob is stored."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(sha256, namespace))
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise self._unavailable(exc) from exc
        except BotoCoreError as exc:
            raise self._unavailable(exc) from exc
        return True

    def delete(self, sha256: str, namespace: Namespace = "original") -> bool:
        """Remove a blob; False if it was not there."""
        if not self.exists(sha256, namespace):
            return False
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(sha256, namespace))
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc
        return True

    def _iter_keys(self, namespace: Namespace) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._base(namespace)):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise self._unavailable(exc) from exc

    def iter_names(self, namespace: Namespace = "original") -> Iterator[str]:
        """Names of all stored blobs in ``namespace``."""
        for key in self._iter_keys(namespace):
            yield key.rsplit("/", 1)[-1]

    def stored_hash(self, sha256: str, namespace: Namespace = "original") -> str | None:
        """The SHA-256 of the stored object's bytes, re-hashed now; None when there is no object."""
        try:
            fh = self.open(sha256, namespace)
        except MediaError as exc:
            if exc.code == "blob_missing":
                return None
            raise
        h = hashlib.sha256()
        with fh:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        return h.hexdigest()

    def verify(self, namespace: Namespace = "original") -> Iterator[str]:
        """Re-hash every stored blob and yield the names of those whose content changed."""
        base = self._base(namespace)
        for key in self._iter_keys(namespace):
            name = key.rsplit("/", 1)[-1]
            if not _SHA_RE.match(name) or key[len(base) :] != f"{name[:2]}/{name[2:4]}/{name}":
                yield name
                continue
            try:
                actual = self.stored_hash(name, namespace)
            except MediaError:
                yield name
                continue
            if actual != name:
                yield name
