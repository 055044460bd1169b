"""Evidence at rest through the API: originals encrypted on disk, document copies redacted."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlmodel import Session, select

from contracts.evidence import EvidencePurpose
from media.encrypted import EncryptedBlobStore
from media.envelope import MAGIC
from media.storage import LocalBlobStore
from models.evidence import Evidence
from models.user import Role
from services import evidence
from services.config import Settings, new_key
from tests.conftest import auth_headers
from tests.factories import make_household, make_user
from tests.media.test_redact import id_card_jpeg
from tests.visit_helpers import jpeg_with_gps, released_assignment


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The app's settings with a media master key: originals are encrypted."""
    return Settings(env="test", media_dir=tmp_path / "media", media_key=new_key(), release_every_s=0)


def _edges(jpeg: bytes) -> float:
    a = np.asarray(Image.open(io.BytesIO(jpeg)).convert("L"), dtype=np.float32)
    return float(np.abs(np.diff(a, axis=1)).mean())


def test_original_encrypted_copy_served_and_verified(client, session: Session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    ins = make_user(session, "insRest", Role.inspector)
    h = make_household(session, "LB401")
    a = released_assignment(session, h, [ins])
    hdr = auth_headers(client, "insRest")
    r = client.post("/api/v1/visits", json={"assignment_id": str(a.id)}, headers=hdr)
    assert r.status_code == 201, r.text
    vid = r.json()["id"]
    photo = jpeg_with_gps(43.98, 119.38, seed=11)
    up = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("a.jpg", photo, "image/jpeg")},
        data={"source": "telegram_document"},
        headers=hdr,
    )
    assert up.status_code == 201, up.text
    assert up.json()["purpose"] == "general"
    ev = session.exec(select(Evidence)).one()
    on_disk = LocalBlobStore(settings.media_dir).path_of(ev.sha256).read_bytes()
    assert on_disk.startswith(MAGIC) and on_disk[:2] != b"\xff\xd8"
    assert b"Exif" not in on_disk and b"JFIF" not in on_disk and photo[6:10] in (b"Exif", b"JFIF")
    store = evidence.blob_store(settings)
    assert isinstance(store, EncryptedBlobStore)
    with store.open(ev.sha256) as fh:
        assert fh.read() == photo
    shown = client.get(f"/api/v1/evidence/{ev.id}/display", headers=hdr)
    assert shown.status_code == 200 and shown.content[:2] == b"\xff\xd8"
    assert list(evidence.verify_store(settings)) == []
    assert evidence.missing_blobs(session, settings) == []

    doc = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("id.jpg", id_card_jpeg(), "image/jpeg")},
        data={"source": "upload", "purpose": "document"},
        headers=hdr,
    )
    assert doc.status_code == 201, doc.text
    assert doc.json()["purpose"] == "document"
    doc_copy = client.get(f"/api/v1/evidence/{doc.json()['id']}/display", headers=hdr).content
    assert _edges(doc_copy) < 0.6 * _edges(evidence_plain_display(id_card_jpeg()))

    bad = client.post(
        f"/api/v1/visits/{vid}/evidence",
        files={"file": ("b.jpg", photo, "image/jpeg")},
        data={"source": "upload", "purpose": "selfie"},
        headers=hdr,
    )
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")


def evidence_plain_display(photo: bytes) -> bytes:
    from media.pipeline import process_full

    return process_full(photo).display


def test_document_steps_are_recognised_by_id() -> None:
    assert evidence.is_document_photo(EvidencePurpose.DOCUMENT, None)
    assert evidence.is_document_photo(None, "documents_seen_photo")
    assert evidence.is_document_photo(EvidencePurpose.GENERAL, "passbook_photo")
    for step in ("documents_seen", "amount_received", "files_photo", "signed_form_photo"):
        assert evidence.is_document_photo(None, step)
    assert not evidence.is_document_photo(None, "house_photo")
    assert not evidence.is_document_photo(None, "board_photo")
    assert not evidence.is_document_photo(None, None)
