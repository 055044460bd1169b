"""`feijian demo` tells people where the console is and how to sign in."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner


def test_demo_prints_the_console_url_and_logins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cli.main import app
    from services.config import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FEIJIAN_DATABASE_URL", f"sqlite:///{tmp_path}/demo.sqlite")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["demo", "--households", "40", "--inspectors", "4", "--no-serve"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:8000/console/" in result.output
    line = next(ln for ln in result.output.splitlines() if "/console/" in ln)
    assert "admin" in line and "/" in line.split("sign in:")[1]
