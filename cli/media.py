"""`feijian media ...`: try the pipeline on a file (``inspect``); re-hash stored originals (``verify``)."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from contracts.evidence import EvidenceSource
from media.exif import DEFAULT_TZ
from media.geo import DEFAULT_RADIUS_M, parse_datum
from media.messages import MediaError
from media.pipeline import Household, process

app = typer.Typer(help="Evidence photos: inspect a file with the pipeline.", no_args_is_help=True)


@app.callback()
def media() -> None:
    """Evidence photos: inspect a file with the pipeline."""


def parse_at(text: str) -> Household:
    """Parse ``LAT,LON[,DATUM]`` (datum wgs84, gcj02 or bd09; default wgs84)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3):
        raise typer.BadParameter("expected LAT,LON or LAT,LON,DATUM")
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise typer.BadParameter("LAT and LON must be numbers") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise typer.BadParameter("LAT,LON out of range")
    if len(parts) == 3:
        try:
            return lat, lon, parse_datum(parts[2])
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return lat, lon


def parse_window(text: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """Parse ``START/END`` (ISO 8601; a time without offset is in ``zone``)."""
    start_s, sep, end_s = text.partition("/")
    if not sep:
        raise typer.BadParameter("expected START/END, e.g. 2024-05-01T09:00/2024-05-01T11:00")
    try:
        start, end = datetime.fromisoformat(start_s.strip()), datetime.fromisoformat(end_s.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"not ISO 8601: {exc}") from exc
    start = start if start.tzinfo else start.replace(tzinfo=zone)
    end = end if end.tzinfo else end.replace(tzinfo=zone)
    if end < start:
        raise typer.BadParameter("END is before START")
    return start, end


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="Photo file.")],
    at: Annotated[str | None, typer.Option("--at", help="Household position LAT,LON[,DATUM].")] = None,
    window: Annotated[str | None, typer.Option("--window", help="Visit window START/END (ISO 8601).")] = None,
    source: Annotated[
        EvidenceSource, typer.Option("--source", help="Where the bytes came from.")
    ] = EvidenceSource.UPLOAD,
    tz: Annotated[str, typer.Option("--tz", help="Time zone for EXIF times without offset.")] = DEFAULT_TZ,
    radius: Annotated[float, typer.Option("--radius", help="On-site radius in metres.")] = DEFAULT_RADIUS_M,
) -> None:
    """Print, as JSON, what the pipeline extracted from FILE and its verdict."""
    try:
        zone = ZoneInfo(tz)
    except Exception as exc:
        raise typer.BadParameter(f"unknown time zone {tz!r}") from exc
    household = parse_at(at) if at else None
    win = parse_window(window, zone) if window else None
    try:
        report = process(file, source, household=household, window=win, tz=zone, radius_m=radius)
    except MediaError as err:
        typer.echo(json.dumps({"ok": False, "file": str(file), "error": err.to_dict()}, ensure_ascii=False))
        raise typer.Exit(code=2) from None
    payload = {"ok": True, "file": str(file), **report.model_dump(mode="json")}
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@app.command()
def verify() -> None:
    """Re-hash every stored original under FEIJIAN_MEDIA_DIR and name any whose bytes changed."""
    from cli.common import settings
    from services.evidence import verify_store

    changed = list(verify_store(settings()))
    if not changed:
        typer.echo("✓ 所有原始照片完好 / every stored original matches its SHA-256")
        return
    for name in changed:
        typer.echo(f"✗ changed: {name}")
    raise typer.Exit(code=1)
