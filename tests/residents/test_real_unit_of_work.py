"""On a real unit of work (no test session): refused lookups are audited and counted, the CLI imports."""

from __future__ import annotations

import random

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from models.application import Application, StatusAttempt
from models.audit import AuditEvent
from services import audit
from services.config import Settings
from tests.factories import VILLAGE, ensure_regions, make_id
from tests.residents.helpers import make_application
from tests.services.test_refusals import own_engine  # noqa: F401  (the fixture)


def test_failed_lookups_are_counted_and_audited_after_the_rollback(own_engine: Engine, tmp_path) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    from api.app import create_app

    with Session(own_engine) as s:
        a = make_application(s)
    app = create_app(Settings(env="test", media_dir=tmp_path / "m", release_every_s=0), engine=own_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(5):
            r = client.post("/status", data={"number": a.number, "id_number": a.id_number, "name": "错名"})
            assert r.status_code == 404
        r = client.post("/status", data={"number": a.number, "id_number": a.id_number, "name": a.name})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    with Session(own_engine) as s:
        fails = s.exec(select(StatusAttempt).where(col(StatusAttempt.ok).is_(False))).all()
        assert len(fails) == 5
        actions = list(s.exec(select(AuditEvent.action).order_by(col(AuditEvent.seq))).all())
        assert actions.count("application.status_failed") == 5
        assert actions.count("application.status_throttled") == 1
        assert audit.verify_chain(s).ok


def test_cli_imports_applications(own_engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811  # type: ignore[no-untyped-def]
    from cli import common
    from cli.main import app

    with Session(own_engine) as s:
        ensure_regions(s, VILLAGE)
        s.commit()
    monkeypatch.setattr(common, "engine", lambda: own_engine)
    f = tmp_path / "申请.csv"
    f.write_text(
        f"姓名,身份证号,村居代码\n王五,{make_id(random.Random(3))},{VILLAGE}\n[red]坏[/red],123,{VILLAGE}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["applications", "import", str(f)])
    assert result.exit_code == 1, result.output  # one row refused
    assert "1 created" in result.output and "1 refused" in result.output
    with Session(own_engine) as s:
        assert len(s.exec(select(Application)).all()) == 1
