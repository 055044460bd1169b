"""`feijian media inspect` prints the pipeline's JSON."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cli.media import app
from tests.media.synth import exif_bytes, jpeg, room

runner = CliRunner()


def test_inspect_prints_report(tmp_path: Path) -> None:
    p = tmp_path / "p.jpg"
    p.write_bytes(
        jpeg(room(31, (640, 480)), exif=exif_bytes(lat=30.0, lon=120.0, captured="2024:05:01 10:00:00"))
    )
    result = runner.invoke(
        app,
        ["inspect", str(p), "--at", "30.0005,120.0,wgs84", "--window", "2024-05-01T09:00/2024-05-01T11:00"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["ok"] is True and out["gps"]["lat"] == 30.0
    assert out["verdict"]["site"] == "on_site" and out["verdict"]["fresh"] is True


def test_inspect_rejection_is_json(tmp_path: Path) -> None:
    p = tmp_path / "fake.jpg"
    p.write_text("hello")
    result = runner.invoke(app, ["inspect", str(p)])
    assert result.exit_code == 2
    out = json.loads(result.output)
    assert out["ok"] is False and out["error"]["code"] == "not_image"
    assert out["error"]["message"]["zh-CN"]


def test_inspect_bad_options(tmp_path: Path) -> None:
    p = tmp_path / "p.jpg"
    p.write_bytes(jpeg(room(32, (64, 48))))
    assert runner.invoke(app, ["inspect", str(p), "--at", "1,2,tokyo"]).exit_code != 0
    assert runner.invoke(app, ["inspect", str(p), "--window", "yesterday"]).exit_code != 0
