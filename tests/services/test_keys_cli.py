"""`feijian keys rotate` / `keys status`: a clear line and exit code on wrong or missing keys."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import common
from cli.main import app
from models.db import make_engine, unit_of_work
from models.migrate import upgrade
from services.config import get_settings
from tests.factories import make_household

KEY_A = base64.urlsafe_b64encode(b"a" * 32).decode()
KEY_B = base64.urlsafe_b64encode(b"b" * 32).decode()
runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A migrated SQLite store file holding two households written under key A."""
    url = f"sqlite:///{tmp_path}/store.sqlite"
    upgrade(url)
    monkeypatch.setenv("FEIJIAN_DATABASE_URL", url)
    monkeypatch.setenv("FEIJIAN_PII_KEY", KEY_A)
    monkeypatch.delenv("FEIJIAN_PII_OLD_KEYS", raising=False)
    get_settings.cache_clear()
    eng = make_engine(url)
    with unit_of_work(eng) as session:
        make_household(session, "CLI001")
        make_household(session, "CLI002")
    eng.dispose()
    common.engine.cache_clear()
    yield
    common.engine.cache_clear()
    get_settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, *args: str, **env: str):  # type: ignore[no-untyped-def]
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    common.engine.cache_clear()
    return runner.invoke(app, ["keys", *args])


def test_missing_or_malformed_keys_are_one_clear_line(store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = run(monkeypatch, "rotate", FEIJIAN_PII_KEY="")
    assert missing.exit_code == 2 and "FEIJIAN_PII_KEY is not set" in missing.output
    bad = run(monkeypatch, "status", FEIJIAN_PII_KEY=KEY_B, FEIJIAN_PII_OLD_KEYS="not-a-key!")
    assert bad.exit_code == 2 and "FEIJIAN_PII_OLD_KEYS" in bad.output
    for result in (missing, bad):
        assert isinstance(result.exception, SystemExit) and "Traceback" not in result.output


def test_wrong_key_then_rotation_to_completion(store: None, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = run(monkeypatch, "rotate", FEIJIAN_PII_KEY=KEY_B)  # old key forgotten
    assert wrong.exit_code == 1 and "key error" in wrong.output and "FEIJIAN_PII_OLD_KEYS" in wrong.output
    assert isinstance(wrong.exception, SystemExit) and "Traceback" not in wrong.output

    pending = run(monkeypatch, "status", FEIJIAN_PII_KEY=KEY_B, FEIJIAN_PII_OLD_KEYS=KEY_A)
    assert pending.exit_code == 0 and "rotation complete" not in pending.output

    done = run(monkeypatch, "rotate", "--batch-size", "1", FEIJIAN_PII_KEY=KEY_B, FEIJIAN_PII_OLD_KEYS=KEY_A)
    assert done.exit_code == 0, done.output
    assert "household: 2 re-encrypted" in done.output and "rotation complete" in done.output
    after = run(monkeypatch, "status", FEIJIAN_PII_KEY=KEY_B, FEIJIAN_PII_OLD_KEYS="")
    assert after.exit_code == 0 and "rotation complete" in after.output
