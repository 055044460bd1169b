"""`feijian media encrypt` and `feijian media purge` on a store file; migrating encrypted blobs to S3."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from cli import common
from cli.main import app
from contracts.visits import VisitStart
from media.encrypted import EncryptedBlobStore
from media.envelope import MAGIC, MediaKeyring
from media.migrate import migrate
from media.s3 import S3BlobStore
from media.storage import LocalBlobStore
from models.audit import AuditEvent
from models.db import make_engine, unit_of_work
from models.evidence import Evidence
from models.migrate import upgrade
from models.types import utcnow
from models.user import Role
from models.visit import Visit, VisitStatus
from services import evidence, visits
from services.config import get_settings, new_key
from services.context import Actor
from tests.factories import make_household, make_user
from tests.visit_helpers import jpeg_with_gps, released_assignment

runner = CliRunner()


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path}/store.sqlite"
    upgrade(url)
    monkeypatch.setenv("FEIJIAN_DATABASE_URL", url)
    monkeypatch.setenv("FEIJIAN_MEDIA_DIR", str(tmp_path / "media"))
    monkeypatch.delenv("FEIJIAN_MEDIA_KEY", raising=False)
    monkeypatch.delenv("FEIJIAN_MEDIA_URL", raising=False)
    get_settings.cache_clear()
    common.engine.cache_clear()
    yield url
    common.engine.cache_clear()
    get_settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, *args: str, **env: str):  # type: ignore[no-untyped-def]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    common.engine.cache_clear()
    return runner.invoke(app, ["media", *args])


def test_encrypt_rewrites_plaintext_originals(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = LocalBlobStore(tmp_path / "media")
    names = [local.put_bytes(jpeg_with_gps(43.98, 119.38, seed=s)) for s in (31, 32)]
    thumb = local.put_bytes(b"thumbnail bytes", "derived")
    refused = run(monkeypatch, "encrypt")
    assert refused.exit_code == 2 and "FEIJIAN_MEDIA_KEY" in refused.output
    key = new_key()
    done = run(monkeypatch, "encrypt", FEIJIAN_MEDIA_KEY=key)
    assert done.exit_code == 0, done.output
    for name in names:
        raw = local.path_of(name).read_bytes()
        assert raw.startswith(MAGIC) and b"Exif" not in raw
    assert local.path_of(thumb, "derived").read_bytes() == b"thumbnail bytes"
    again = run(monkeypatch, "encrypt")
    assert again.exit_code == 0 and "skipped" in again.output
    assert run(monkeypatch, "verify").exit_code == 0
    wrong = run(monkeypatch, "verify", FEIJIAN_MEDIA_KEY=new_key())
    assert wrong.exit_code == 1 and names[0] in wrong.output


def test_purge_command_dry_run_then_purge(store_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEIJIAN_MEDIA_KEY", new_key())
    monkeypatch.setenv("FEIJIAN_MEDIA_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    conf = get_settings()
    eng = make_engine(store_url)
    with unit_of_work(eng) as session:
        user = make_user(session, "insCli", Role.inspector)
        actor = Actor.of(user)
        assignment = released_assignment(session, make_household(session, "CLI601"), [user])
        visit = visits.start_visit(session, actor, VisitStart(assignment_id=assignment.id))
        ev = evidence.add_evidence(
            session, actor, conf, visit.id, jpeg_with_gps(43.98, 119.38, seed=33), "upload"
        )
        visit.status, visit.finished_at = VisitStatus.submitted, utcnow() - timedelta(days=31)
        session.add(visit)
        sha, eid = ev.sha256, ev.id
    store = evidence.blob_store(conf)
    dry = run(monkeypatch, "purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "1 original(s) would be purged" in dry.output and store.exists(sha)
    done = run(monkeypatch, "purge")
    assert done.exit_code == 0, done.output
    assert "purged 1" in done.output and not store.exists(sha)
    with unit_of_work(eng) as session:
        assert session.get(Evidence, eid).purged_at is not None  # type: ignore[union-attr]
        assert session.get(Visit, visit.id) is not None
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.action).startswith("evidence.purge"))
        ).all()
    assert sorted(actions) == ["evidence.purge_batch", "evidence.purge_run"]
    assert run(monkeypatch, "verify").exit_code == 0  # a purged original is not "missing"
    eng.dispose()


def test_migrate_carries_encrypted_blobs_and_checks_plaintext(s3_store: S3BlobStore, tmp_path: Path) -> None:
    keyring = MediaKeyring.of(secrets.token_bytes(32))
    inner = LocalBlobStore(tmp_path / "m")
    local = EncryptedBlobStore(inner, keyring)
    sha = local.put_bytes(b"an original" * 1000)
    without_key = migrate(inner, s3_store)
    assert not without_key.ok
    report = migrate(inner, s3_store, keyring=keyring)
    assert report.ok and report.copied == [f"original/{sha}"]
    with s3_store.open(sha) as fh:
        assert fh.read(len(MAGIC)) == MAGIC
    assert migrate(inner, s3_store, keyring=keyring).skipped == [f"original/{sha}"]
