"""Shared fixtures: every store test runs on SQLite and on PostgreSQL, each in a rolled-back transaction."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

# Keys must exist before any service builds its cipher; tests never use a developer's .env.
os.environ.setdefault("FEIJIAN_SECRET_KEY", "ZmVpamlhbi10ZXN0LXNlY3JldC1rZXktMzJieXRlcyE=")
os.environ.setdefault("FEIJIAN_PII_KEY", "ZmVpamlhbi10ZXN0LXBpaS1rZXktMzItYnl0ZXMtISE=")
os.environ.setdefault("FEIJIAN_ENV", "test")

from models.db import make_engine
from models.migrate import upgrade
from services.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_TESTDATA = ROOT.parent / "shared" / "testdata"
PG_ADMIN_URL = os.environ.get(
    "FEIJIAN_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# one database per test process, so parallel runs on one machine never drop each other's database
PG_DB = os.environ.get("FEIJIAN_TEST_PG_DB", f"feijian_test_{os.getpid()}")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# s3_endpoint, s3_url, s3_store, ...: a local S3-compatible server for the media-on-S3 tests
pytest_plugins = ["tests.s3_server"]


def shared_testdata(*parts: str) -> Path:
    """A path under ../shared/testdata, skipping the test with a reason when it is absent."""
    path = SHARED_TESTDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/testdata/{'/'.join(parts)} is absent (a user's clone has no shared/ folder)")
    return path


def _postgres_engine() -> Engine:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    except OperationalError as exc:
        msg = f"PostgreSQL pass skipped: cannot reach {PG_ADMIN_URL} ({type(exc).__name__})"
        if IN_CI:
            pytest.fail(msg + " — under CI the PostgreSQL pass is required", pytrace=False)
        pytest.skip(msg)
    finally:
        admin.dispose()
    return make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated database of each kind, shared by the session (tests roll back their changes)."""
    if request.param == "sqlite":
        tmp = tempfile.mkdtemp(prefix="feijian-test-")
        eng = make_engine(f"sqlite:///{tmp}/store.sqlite")
    else:
        eng = _postgres_engine()
    upgrade(str(eng.url.render_as_string(hide_password=False)))
    yield eng
    eng.dispose()
    if request.param == "postgresql":
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test."""
    conn = engine.connect()
    trans = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        trans.rollback()
        conn.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: keys from the environment, media in a temporary folder."""
    return Settings(env="test", media_dir=tmp_path / "media", release_every_s=0)


@pytest.fixture
def app(settings: Settings, engine: Engine, session: Session):  # type: ignore[no-untyped-def]
    """The API app whose every request uses the test's session (so the test's rollback undoes it)."""
    from api.app import create_app
    from api.deps import get_session

    application = create_app(settings, engine=engine)

    def _session() -> Iterator[Session]:
        session.commit()  # keep the test's own setup when a request rolls back
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _session
    application.state.session_factory = contextmanager(_session)
    return application


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    """A TestClient on the app (server errors become responses, as a real client sees them)."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def auth_headers(client, login: str, password: str = "secret-pass-1") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Logs in through the API and returns the Authorization header."""
    r = client.post("/api/v1/auth/token", json={"login": login, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}
