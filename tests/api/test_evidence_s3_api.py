"""The evidence API end to end with media on an S3-compatible store (moto's server on loopback)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlmodel import Session, select
from typer.testing import CliRunner

from media.s3 import S3BlobStore
from media.storage import S3Options
from models.evidence import Evidence
from models.user import Role
from services import evidence
from services.config import Settings
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment


@pytest.fixture
def settings(tmp_path: Path, s3_url: str, s3_options: S3Options) -> Settings:
    """The app's settings with FEIJIAN_MEDIA_URL on the test bucket (nothing in media_dir)."""
    return Settings(
        env="test",
        media_dir=tmp_path / "unused-media",
        media_url=s3_url,
        s3_endpoint_url=s3_options.endpoint_url,
        s3_region=s3_options.region,
        s3_access_key_id="testing",
        s3_secret_access_key=SecretStr("testing"),
        s3_addressing_style="path",
        release_every_s=0,
    )


def test_evidence_through_the_s3_store(  # type: ignore[no-untyped-def]
    client,
    session: Session,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ins = make_user(session, "insS3", Role.inspector)
    h = make_household(session, "LB301")
    a = released_assignment(session, h, [ins])
    hdr = auth_headers(client, "insS3")
    r = client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    photo = jpeg_with_gps(43.98, 119.38, seed=7)
    up = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("a.jpg", photo, "image/jpeg")},
        data={"source": "telegram_document"},
        headers=hdr,
    )
    assert up.status_code == 201, up.text
    ev = session.exec(select(Evidence)).one()
    store = evidence.blob_store(settings)
    assert isinstance(store, S3BlobStore)
    assert store.exists(ev.sha256) and store.exists(ev.thumb_sha256, "derived")
    assert not (settings.media_dir / "original").exists()  # nothing went to the local folder
    with store.open(ev.sha256) as fh:
        assert fh.read() == photo
    thumb = client.get(f"/api/v1/evidence/{ev.id}/thumbnail", headers=hdr)
    assert thumb.status_code == 200 and thumb.content[:2] == b"\xff\xd8"
    assert evidence.missing_blobs(session, settings) == []

    # the thumbnail object disappears from the bucket: a clear 410, logged, never a 500
    store.delete(ev.thumb_sha256, "derived")
    with caplog.at_level(logging.ERROR, logger="services.evidence"):
        gone = client.get(f"/api/v1/evidence/{ev.id}/thumbnail", headers=hdr | {"Accept-Language": "en"})
    assert gone.status_code == 410
    assert gone.headers["content-type"].startswith("application/problem+json")
    body = gone.json()
    assert body["type"].endswith("/evidence_file_missing") and body["title"] == "evidence file missing"
    assert "feijian media verify" in body["detail"]
    assert any(ev.thumb_sha256 in rec.getMessage() for rec in caplog.records)
    missing = evidence.missing_blobs(session, settings)
    assert [(m.evidence_id, m.kind, m.sha256) for m in missing] == [
        (str(ev.id), "thumbnail", ev.thumb_sha256)
    ]

    # `feijian media verify` names the missing file and a tampered original, and fails
    from cli import common
    from cli.main import app as cli_app

    @contextmanager
    def _work() -> Iterator[Session]:
        yield session

    monkeypatch.setattr(common, "settings", lambda: settings)
    monkeypatch.setattr(common, "work", _work)
    store.client.put_object(Bucket=store.bucket, Key=store.key(ev.sha256), Body=b"not the photo")
    result = CliRunner().invoke(cli_app, ["media", "verify"])
    assert result.exit_code == 1, result.output
    assert f"missing: thumbnail {ev.thumb_sha256} (evidence {ev.id})" in result.output
    assert f"changed: {ev.sha256}" in result.output
    assert settings.media_url is not None and settings.media_url in result.output


def test_unreachable_bucket_is_a_503_not_a_rejected_photo(  # type: ignore[no-untyped-def]
    client, session: Session, settings: Settings
) -> None:
    store = evidence.blob_store(settings)
    assert isinstance(store, S3BlobStore)
    store.client.delete_bucket(Bucket=store.bucket)  # the bucket is gone (or the endpoint is wrong)
    ins = make_user(session, "insS3b", Role.inspector)
    a = released_assignment(session, make_household(session, "LB302"), [ins])
    hdr = auth_headers(client, "insS3b")
    vid = client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr).json()["id"]
    up = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("a.jpg", jpeg_with_gps(43.98, 119.38, seed=8), "image/jpeg")},
        data={"source": "telegram_document"},
        headers=hdr,
    )
    assert up.status_code == 503, up.text
    assert up.json()["type"].endswith("/media_store_unavailable")
    assert session.exec(select(Evidence)).first() is None
