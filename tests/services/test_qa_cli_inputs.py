"""CLI commands of the cadre, review and ledger features answer bad arguments with one clear line and
an exit code, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from models.db import make_engine
from models.migrate import upgrade


def test_bad_paths_dates_and_round_ids_are_clear_errors(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from cli import common
    from cli.main import app

    eng = make_engine(f"sqlite:///{tmp_path}/cli.sqlite")
    upgrade(str(eng.url))
    monkeypatch.setattr(common, "engine", lambda: eng)
    runner = CliRunner()
    nowhere = str(tmp_path / "missing" / "out")
    for args in (
        ["cadres", "table", "--out", nowhere + ".xlsx"],
        ["ledger", "export", "-o", nowhere + ".xlsx"],
        ["ledger", "export", "-o", str(tmp_path)],
        ["ledger", "notice", "--unit", "150422100", "-o", nowhere + ".pdf"],
        ["ledger", "export", "-o", str(tmp_path / "x.xlsx"), "--round", "zzz"],
        ["ledger", "summary", "--round", "not-a-uuid"],
        ["reviews", "due", "--as-of", "0001-01-01"],
        ["reviews", "due", "--as-of", "9999-12-31"],
    ):
        r = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert r.exit_code in (1, 2), (args, r.output)
        assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert not (tmp_path / "missing").exists()
    eng.dispose()
