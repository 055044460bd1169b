"""The S3 blob store against a local S3-compatible server (moto's server mode, loopback only)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from media.hashing import sha256_bytes
from media.messages import MediaError
from media.migrate import migrate
from media.s3 import S3BlobStore, parse_s3_url
from media.storage import BlobStore, LocalBlobStore, S3Options, open_blob_store
from services.config import Settings


def _keys(store: S3BlobStore) -> list[str]:
    listing = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_is_a_blobstore_chosen_by_url(s3_url: str, s3_options: S3Options, tmp_path: Path) -> None:
    store = open_blob_store(s3_url, s3_options)
    assert isinstance(store, S3BlobStore) and isinstance(store, BlobStore)
    assert isinstance(open_blob_store(tmp_path / "m"), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}/m2"), LocalBlobStore)
    with pytest.raises(ValueError):
        open_blob_store("ftp://host/x")
    assert parse_s3_url("s3://bucket/a/b/") == ("bucket", "a/b")
    with pytest.raises(ValueError):
        parse_s3_url("s3:///nobucket")


def test_media_url_setting_is_checked() -> None:
    assert Settings(env="test", media_url="s3://b/p").media_location() == "s3://b/p"
    assert Settings(env="test", media_dir=Path("/x/m")).media_location() == "/x/m"
    for bad in ("http://b/p", "s3://", "s3://b/p?x=1"):
        with pytest.raises(ValueError):
            Settings(env="test", media_url=bad)


def test_upload_content_addressed_and_read_back(s3_store: S3BlobStore) -> None:
    data = b"evidence bytes" * 5000
    sha = s3_store.put_stream(io.BytesIO(data))
    assert sha == sha256_bytes(data)
    assert _keys(s3_store) == [f"evidence/original/{sha[:2]}/{sha[2:4]}/{sha}"]
    assert s3_store.exists(sha) and not s3_store.exists(sha, "derived")
    with s3_store.open(sha) as fh:
        assert fh.read(10) == data[:10]
        assert fh.read() == data[10:]
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key=s3_store.key(sha))
    assert head["Metadata"]["sha256"] == sha
    assert list(s3_store.iter_names()) == [sha]


def test_same_bytes_uploaded_once(s3_store: S3BlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    uploads: list[str] = []
    real = s3_store._upload

    def counting(body, sha, namespace, digest):  # type: ignore[no-untyped-def]
        uploads.append(sha)
        real(body, sha, namespace, digest)

    monkeypatch.setattr(s3_store, "_upload", counting)
    data = b"the same photo" * 100
    first = s3_store.put_stream(io.BytesIO(data))
    assert s3_store.put_stream(io.BytesIO(data)) == first
    assert s3_store.put_bytes(data) == first
    assert uploads == [first]
    assert len(_keys(s3_store)) == 1
    s3_store.put_bytes(data, "derived")  # another namespace is another object
    assert uploads == [first, first] and len(_keys(s3_store)) == 2


def test_size_cap_stores_nothing(s3_store: S3BlobStore) -> None:
    with pytest.raises(MediaError) as info:
        s3_store.put_stream(io.BytesIO(b"x" * 5000), max_bytes=4096)
    assert info.value.code == "too_large"
    assert _keys(s3_store) == []


def test_missing_object(s3_store: S3BlobStore) -> None:
    sha = s3_store.put_bytes(b"abc")
    assert s3_store.delete(sha) is True
    assert s3_store.delete(sha) is False
    assert not s3_store.exists(sha)
    with pytest.raises(MediaError) as info:
        s3_store.open(sha)
    assert info.value.code == "blob_missing"
    assert s3_store.stored_hash(sha) is None


def test_verify_reports_a_tampered_object(s3_store: S3BlobStore) -> None:
    good = s3_store.put_bytes(b"good photo")
    bad = s3_store.put_bytes(b"photo later changed")
    assert list(s3_store.verify()) == []
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.key(bad), Body=b"something else")
    assert list(s3_store.verify()) == [bad]
    # an object under a name that does not match its place is reported too
    stray = sha256_bytes(b"stray")
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=f"evidence/original/00/00/{stray}", Body=b"stray")
    assert sorted(s3_store.verify()) == sorted([bad, stray])
    assert good not in list(s3_store.verify())


def test_unreachable_store_is_a_clear_error(tmp_path: Path) -> None:
    options = S3Options(
        endpoint_url="http://127.0.0.1:9", region="us-east-1", access_key_id="x", secret_access_key="y"
    )
    store = S3BlobStore("nobucket", "p", options)
    with pytest.raises(MediaError) as info:
        store.exists(sha256_bytes(b"x"))
    assert info.value.code == "store_unavailable"
    assert "s3://nobucket/p" in info.value.message("en")


def _local_store(root: Path) -> tuple[LocalBlobStore, list[str]]:
    local = LocalBlobStore(root)
    names = [local.put_bytes(f"photo {i}".encode()) for i in range(4)]
    names.append(local.put_bytes(b"thumbnail", "derived"))
    return local, names


def test_migrate_copies_verifies_and_resumes(s3_store: S3BlobStore, tmp_path: Path) -> None:
    local, names = _local_store(tmp_path / "media")
    # an interrupted earlier run left one object behind, and one object with the wrong bytes
    s3_store.upload_file(local.path_of(names[0]), names[0])
    s3_store.client.put_object(Bucket=s3_store.bucket, Key=s3_store.key(names[1]), Body=b"half written")
    seen: list[tuple[str, str]] = []
    report = migrate(local, s3_store, on_item=lambda item, outcome: seen.append((item, outcome)))
    assert report.ok and len(seen) == 5
    assert report.skipped == [f"original/{names[0]}"]
    assert sorted(report.copied) == sorted([f"original/{n}" for n in names[1:4]] + [f"derived/{names[4]}"])
    assert list(s3_store.verify()) == [] and list(s3_store.verify("derived")) == []
    again = migrate(local, s3_store)
    assert again.copied == [] and len(again.skipped) == 5


def test_migrate_never_copies_a_changed_local_file(s3_store: S3BlobStore, tmp_path: Path) -> None:
    local, names = _local_store(tmp_path / "media")
    path = local.path_of(names[2])
    path.chmod(0o644)
    path.write_bytes(b"tampered")
    report = migrate(local, s3_store)
    assert [item for item, _ in report.failed] == [f"original/{names[2]}"]
    assert "no longer matches" in report.failed[0][1]
    assert not s3_store.exists(names[2])
    assert len(report.copied) == 4


def test_cli_migrate_prints_the_table(
    s3_settings: Settings, s3_store: S3BlobStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from cli import common
    from cli.main import app

    local, names = _local_store(s3_settings.media_dir)
    monkeypatch.setattr(common, "settings", lambda: s3_settings)
    runner = CliRunner()
    first = runner.invoke(app, ["media", "migrate", "--to", s3_store.url])
    assert first.exit_code == 0, first.output
    assert "copied" in first.output and "skipped" in first.output and "failed" in first.output
    row = [line for line in first.output.splitlines() if line.count("│") >= 4 and "5" in line]
    assert row and row[-1].split("│")[1].strip() == "5"  # copied
    second = runner.invoke(app, ["media", "migrate", "--to", s3_store.url])
    assert second.exit_code == 0, second.output
    row = [line for line in second.output.splitlines() if line.count("│") >= 4 and "5" in line]
    assert row[-1].split("│")[2].strip() == "5"  # skipped
    local.path_of(names[0]).chmod(0o644)
    local.path_of(names[0]).write_bytes(b"changed on disk")
    s3_store.delete(names[0])
    third = runner.invoke(app, ["media", "migrate", "--to", s3_store.url])
    assert third.exit_code == 1 and f"original/{names[0]}" in third.output
    bad = runner.invoke(app, ["media", "migrate", "--to", "/not/s3"])
    assert bad.exit_code == 2
