"""Refused attempts are audited in one place: the error carries the event, the edge keeps it."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from typer.testing import CliRunner

from models.audit import AuditEvent
from models.db import make_engine
from models.migrate import upgrade
from models.user import Role
from services import audit, rounds
from services.context import Actor
from services.errors import Forbidden, NotFound
from tests.conftest import IN_CI, PG_ADMIN_URL
from tests.factories import make_user


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_a_refusal_is_carried_by_the_error_and_written_in_its_own_unit(session: Session) -> None:
    insp = make_user(session, "insp-refused", Role.inspector)
    missing = uuid.uuid4()
    with pytest.raises(NotFound) as caught:
        rounds.get_round(session, Actor.system("cli"), missing)
    refusal = caught.value.refusal
    assert refusal is not None and refusal.action == "round.denied"
    assert refusal.actor == "admin:cli" and refusal.entity_id == str(missing)
    assert dict(refusal.details) == {"attempted": "read"}
    assert _events(session, "round.denied") == []  # nothing in the refused unit of work itself

    @contextmanager
    def own_unit() -> Iterator[Session]:
        yield session
        session.flush()

    audit.keep_refusal(own_unit, caught.value)
    with pytest.raises(Forbidden) as forbidden:
        rounds.list_sample(session, Actor.of(insp), missing)
    audit.keep_refusal(own_unit, forbidden.value)
    audit.keep_refusal(own_unit, ValueError("not a domain error"))  # ignored
    denied = _events(session, "round.denied")
    assert [e.entity_id for e in denied] == [str(missing), str(missing)]
    assert [e.details["attempted"] for e in denied] == ["read", "sample.view"]
    assert denied[1].actor == "inspector:insp-refused"
    assert audit.verify_chain(session).ok


@pytest.fixture(params=["sqlite", "postgresql"])
def own_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A fresh migrated database of its own: the CLI commits for real, outside any test transaction."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tempfile.mkdtemp(prefix='feijian-cli-')}/store.sqlite")
        upgrade(str(eng.url))
        yield eng
        eng.dispose()
        return
    name = f"feijian_test_{os.getpid()}_cli"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if IN_CI:
            pytest.fail(f"PostgreSQL unreachable under CI: {exc}", pytrace=False)
        pytest.skip(f"PostgreSQL pass skipped: cannot reach {PG_ADMIN_URL}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_the_same_refusal_from_the_cli_is_audited(
    own_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cli import common
    from cli.main import app

    monkeypatch.setattr(common, "engine", lambda: own_engine)
    runner = CliRunner()
    missing = uuid.uuid4()
    shown = runner.invoke(app, ["round", "show", str(missing)])
    assert shown.exit_code == 1
    again = runner.invoke(app, ["round", "commit", str(missing)])
    assert again.exit_code == 1
    with Session(own_engine) as s:
        denied = _events(s, "round.denied")
        assert [(e.actor, e.entity_id, e.details) for e in denied] == [
            ("admin:cli", str(missing), {"attempted": "read"}),
            ("admin:cli", str(missing), {"attempted": "read"}),
        ]
        assert audit.verify_chain(s).ok
    verified = runner.invoke(app, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_the_api_keeps_a_refusal_on_its_real_unit_of_work(own_engine: Engine, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Without the test session override: the request's transaction is gone before the refusal's own
    one begins (on SQLite a second writer would otherwise wait for the first one's lock)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from services.config import Settings

    app = create_app(Settings(env="test", media_dir=tmp_path / "media", release_every_s=0), engine=own_engine)
    with Session(own_engine) as s:
        make_user(s, "sup-real", Role.supervisor, scope_code="150422")
        s.commit()
    with TestClient(app, raise_server_exceptions=False) as client:
        bad = client.post("/api/v1/auth/token", json={"login": "sup-real", "password": "wrong-password"})
        assert bad.status_code == 401
        ok = client.post("/api/v1/auth/token", json={"login": "sup-real", "password": "secret-pass-1"})
        hdr = {"Authorization": f"Bearer {ok.json()['access_token']}"}
        assert client.get(f"/api/v1/rounds/{uuid.uuid4()}", headers=hdr).status_code == 404
    with Session(own_engine) as s:
        actions = list(s.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all())
        assert actions == ["auth.login_failed", "auth.login", "round.denied"]
        assert audit.verify_chain(s).ok
