"""Originals encrypted at rest: the streaming envelope and the encrypting store on disk and in S3."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import secrets
from pathlib import Path

import pytest

from media.encrypted import EncryptedBlobStore
from media.envelope import (
    HEADER_LEN,
    MAGIC,
    EnvelopeError,
    MediaKeyring,
    encrypt_bytes,
    encrypt_stream,
    open_plain,
)
from media.messages import MediaError
from media.s3 import S3BlobStore
from media.storage import BlobStore, LocalBlobStore, S3Options
from tests.visit_helpers import jpeg_with_gps

KEYS = MediaKeyring.of(secrets.token_bytes(32))


def _decrypt(blob: bytes, keyring: MediaKeyring = KEYS) -> bytes:
    stream, encrypted = open_plain(io.BytesIO(blob), keyring)
    assert encrypted
    with stream:
        return stream.read()


@pytest.mark.parametrize("size", [0, 1, 1000, 4096, 4097, 3 * 4096 + 5])
def test_round_trip_in_segments(size: int) -> None:
    data = os.urandom(size)
    out = io.BytesIO()
    sha, n = encrypt_stream(io.BytesIO(data), out, KEYS, max_bytes=None, segment=4096)
    assert (sha, n) == (hashlib.sha256(data).hexdigest(), size)
    blob = out.getvalue()
    assert blob.startswith(MAGIC)
    assert size < 16 or data not in blob  # a short plaintext could occur in random bytes by chance
    assert _decrypt(blob) == data


def test_tampering_truncation_and_wrong_key_are_refused() -> None:
    data = os.urandom(3 * 4096)
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(data), out, KEYS, max_bytes=None, segment=4096)
    blob = out.getvalue()
    flipped = bytearray(blob)
    flipped[HEADER_LEN + 5000] ^= 1
    cut = blob[: HEADER_LEN + 2 * (4096 + 16)]  # drop the last segment at a segment boundary
    for bad in (bytes(flipped), cut, blob[:-1]):
        with pytest.raises(EnvelopeError):
            _decrypt(bad)
    with pytest.raises(EnvelopeError, match="no configured media key"):
        _decrypt(blob, MediaKeyring.of(secrets.token_bytes(32)))
    # a rotated key still reads what the old one wrapped
    assert _decrypt(blob, MediaKeyring.of(secrets.token_bytes(32), [KEYS.current])) == data


def test_size_cap_applies_while_encrypting() -> None:
    with pytest.raises(MediaError) as err:
        encrypt_stream(io.BytesIO(b"x" * 10_000), io.BytesIO(), KEYS, max_bytes=5000, segment=4096)
    assert err.value.code == "too_large"


def test_original_on_disk_is_unreadable_without_the_key(tmp_path: Path) -> None:
    photo = jpeg_with_gps(39.9, 116.4)
    inner = LocalBlobStore(tmp_path)
    store = EncryptedBlobStore(inner, KEYS)
    assert isinstance(store, BlobStore)
    sha = store.put_bytes(photo)
    assert sha == hashlib.sha256(photo).hexdigest()
    on_disk = inner.path_of(sha).read_bytes()
    assert on_disk.startswith(MAGIC)
    assert b"\xff\xd8" not in on_disk[: HEADER_LEN + 2] and b"Exif" not in on_disk and b"JFIF" not in on_disk
    assert photo[:2] == b"\xff\xd8"
    with store.open(sha) as fh:
        assert fh.read() == photo
    assert store.put_bytes(photo) == sha and list(store.iter_names()) == [sha]  # dedup by plaintext
    assert list(store.verify()) == []
    # derived copies stay plaintext unless configured
    dsha = store.put_bytes(b"display", "derived")
    assert inner.path_of(dsha, "derived").read_bytes() == b"display"


def test_verify_catches_a_changed_envelope(tmp_path: Path) -> None:
    inner = LocalBlobStore(tmp_path)
    store = EncryptedBlobStore(inner, KEYS)
    sha = store.put_bytes(b"a" * 5000)
    path = inner.path_of(sha)
    raw = bytearray(path.read_bytes())
    raw[-3] ^= 0xFF
    os.chmod(path, 0o644)
    path.write_bytes(bytes(raw))
    assert list(store.verify()) == [sha]


def test_plaintext_blobs_stay_readable_and_are_encrypted_in_place(tmp_path: Path) -> None:
    inner = LocalBlobStore(tmp_path)
    old = inner.put_bytes(b"written before encryption")
    store = EncryptedBlobStore(inner, KEYS)
    with store.open(old) as fh:
        assert fh.read() == b"written before encryption"
    assert not store.is_encrypted(old)
    assert store.encrypt_existing(old) is True
    assert store.is_encrypted(old) and not store.encrypt_existing(old)
    assert inner.path_of(old).read_bytes().startswith(MAGIC)
    with store.open(old) as fh:
        assert fh.read() == b"written before encryption"
    assert list(store.verify()) == []


def test_encrypted_in_s3_with_server_side_encryption(s3_url: str, s3_options: S3Options) -> None:
    options = dataclasses.replace(s3_options, sse="AES256")
    inner = S3BlobStore.from_url(s3_url, options)
    store = EncryptedBlobStore(inner, KEYS, ("original", "derived"))
    photo = jpeg_with_gps(39.9, 116.4, seed=3)
    sha = store.put_stream(io.BytesIO(photo))
    obj = inner.client.get_object(Bucket=inner.bucket, Key=inner.key(sha))
    body = obj["Body"].read()
    assert body.startswith(MAGIC) and b"Exif" not in body
    assert obj.get("ServerSideEncryption") == "AES256"
    with store.open(sha) as fh:
        assert fh.read() == photo
    dsha = store.put_bytes(b"thumb", "derived")
    assert _decrypt(
        inner.client.get_object(Bucket=inner.bucket, Key=inner.key(dsha, "derived"))["Body"].read()
    ) == (b"thumb")
    assert list(store.verify()) == [] and list(store.verify("derived")) == []
    assert encrypt_bytes(b"", KEYS).startswith(MAGIC)
