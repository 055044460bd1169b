"""Content-addressed local blob store: dedup, sharding, atomic writes, size cap, verify."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from media.hashing import sha256_bytes
from media.messages import MediaError
from media.pipeline import process_full
from media.storage import BlobStore, LocalBlobStore
from tests.media.synth import jpeg, room


def test_is_a_blobstore(tmp_path: Path) -> None:
    assert isinstance(LocalBlobStore(tmp_path), BlobStore)


def test_same_bytes_stored_once_in_sharded_dirs(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = b"evidence bytes" * 1000
    sha = store.put_bytes(data)
    assert sha == sha256_bytes(data)
    assert store.put_stream(io.BytesIO(data)) == sha
    assert store.put_bytes(data) == sha
    files = [p for p in (tmp_path / "original").rglob("*") if p.is_file()]
    assert files == [tmp_path / "original" / sha[:2] / sha[2:4] / sha]
    assert not list((tmp_path / "tmp").iterdir())  # no temp files left behind
    with store.open(sha) as fh:
        assert fh.read() == data
    assert store.exists(sha)


def test_namespaces_are_separate(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha = store.put_bytes(b"thumb", "derived")
    assert store.exists(sha, "derived") and not store.exists(sha, "original")
    assert list(store.iter_names("derived")) == [sha]
    assert list(store.iter_names("original")) == []


def test_size_cap_on_streams(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(MediaError) as info:
        store.put_stream(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert info.value.code == "too_large"
    assert list(store.iter_names()) == []
    assert not list((tmp_path / "tmp").iterdir())


def test_delete_and_missing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    sha = store.put_bytes(b"abc")
    assert store.delete(sha) is True
    assert store.delete(sha) is False
    assert not store.exists(sha)
    with pytest.raises(MediaError) as info:
        store.open(sha)
    assert info.value.code == "blob_missing"


def test_names_must_be_sha256(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    for bad in ("../../etc/passwd", "abc", "g" * 64):
        with pytest.raises(ValueError):
            store.exists(bad)
    with pytest.raises(ValueError):
        store.exists("a" * 64, "elsewhere")  # type: ignore[arg-type]


def test_verify_names_changed_blobs(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    good = store.put_bytes(b"untouched")
    bad = store.put_bytes(b"will be tampered with")
    assert list(store.verify()) == []
    path = tmp_path / "original" / bad[:2] / bad[2:4] / bad
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    assert list(store.verify()) == [bad]
    assert good not in list(store.verify())


def test_pipeline_stores_original_and_derived_once(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    data = jpeg(room(3, (1200, 900)))
    first = process_full(data, store=store)
    again = process_full(data, store=store)  # a retried upload
    assert first.report.sha256 == again.report.sha256
    assert list(store.iter_names("original")) == [first.report.sha256]
    derived = set(store.iter_names("derived"))
    assert derived == {first.report.display.sha256, first.report.thumbnail.sha256}
