"""`feijian media ...`: try the pipeline on a file (``inspect``); check the store (``verify``); copy it to S3
(``migrate``); encrypt plaintext originals (``encrypt``); purge originals past retention (``purge``)."""

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
    """Re-hash every stored original (FEIJIAN_MEDIA_URL or FEIJIAN_MEDIA_DIR) and find recorded files
    the store no longer holds."""
    from cli.common import settings, work
    from services.evidence import missing_blobs, verify_store

    conf = settings()
    typer.echo(f"media store: {conf.media_location()}")
    try:
        changed = list(verify_store(conf))
        with work() as session:
            missing = missing_blobs(session, conf)
    except MediaError as err:
        typer.echo(f"✗ {err.message('zh-CN')} / {err.message('en')}", err=True)
        raise typer.Exit(code=2) from None
    if not changed and not missing:
        typer.echo("✓ 所有原始照片完好 / every stored original matches its SHA-256")
        return
    for name in changed:
        typer.echo(f"✗ changed: {name}")
    for blob in missing:
        typer.echo(f"✗ missing: {blob.kind} {blob.sha256} (evidence {blob.evidence_id})")
    raise typer.Exit(code=1)


@app.command()
def migrate(
    to: Annotated[str, typer.Option("--to", help="Target store, s3://bucket/prefix.")],
    source: Annotated[
        Path | None, typer.Option("--from", help="Local store directory (default FEIJIAN_MEDIA_DIR).")
    ] = None,
) -> None:
    """Copy the local media store to an S3 bucket, skipping objects already there with the right
    hash (re-run to resume), and re-hash every object copied."""
    from rich.progress import Progress
    from rich.table import Table

    from cli.common import console, settings
    from media.migrate import migrate as run
    from media.migrate import plan
    from media.s3 import S3BlobStore
    from media.storage import LocalBlobStore
    from services.evidence import media_keyring, s3_options

    conf = settings()
    if not to.startswith("s3://"):
        raise typer.BadParameter("--to must be an s3://bucket/prefix URL")
    root = source or conf.media_dir
    if not Path(root).is_dir():
        raise typer.BadParameter(f"no local media store at {root}")
    local = LocalBlobStore(root)
    try:
        target = S3BlobStore.from_url(to, s3_options(conf))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    total = len(plan(local))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"{root} → {to}", total=total)
        report = run(
            local, target, on_item=lambda _item, _outcome: progress.advance(task), keyring=media_keyring(conf)
        )
    table = Table(title=f"media migrate → {to}")
    for column in ("copied", "skipped", "failed", "total"):
        table.add_column(column, justify="right")
    table.add_row(str(len(report.copied)), str(len(report.skipped)), str(len(report.failed)), str(total))
    console.print(table)
    for item, reason in report.failed:
        console.print(f"[red]✗ failed: {item}: {reason}[/red]")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("✓ 全部对象已核对哈希 / every object in the bucket matches its SHA-256")


@app.command()
def encrypt(
    derived: Annotated[
        bool, typer.Option("--derived/--no-derived", help="Also encrypt display copies and thumbnails.")
    ] = False,
) -> None:
    """Encrypt the originals stored in plaintext before FEIJIAN_MEDIA_KEY was set: each is rewritten
    as an envelope and decrypted back to prove it (already encrypted ones are skipped: re-run to
    resume)."""
    from rich.progress import Progress
    from rich.table import Table

    from cli.common import console, settings
    from media.encrypted import EncryptedBlobStore
    from media.storage import NAMESPACES, Namespace
    from services.evidence import blob_store

    conf = settings()
    store = blob_store(conf)
    if not isinstance(store, EncryptedBlobStore):
        typer.echo("✗ FEIJIAN_MEDIA_KEY is not set (generate one: feijian keys)", err=True)
        raise typer.Exit(code=2)
    namespaces: tuple[Namespace, ...] = NAMESPACES if derived or conf.media_encrypt_derived else ("original",)
    store = EncryptedBlobStore(store.inner, store.keyring, namespaces)
    todo = [(ns, name) for ns in namespaces for name in store.iter_names(ns)]
    counts = {"encrypted": 0, "skipped": 0, "failed": 0}
    failures: list[str] = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"加密 / encrypting {conf.media_location()}", total=len(todo))
        for ns, name in todo:
            try:
                counts["encrypted" if store.encrypt_existing(name, ns) else "skipped"] += 1
            except (MediaError, ValueError, OSError) as exc:
                counts["failed"] += 1
                failures.append(f"{ns}/{name}: {exc}")
            progress.advance(task)
    table = Table(title="media encrypt")
    for column in (*counts, "total"):
        table.add_column(column, justify="right")
    table.add_row(*(str(v) for v in counts.values()), str(len(todo)))
    console.print(table)
    for line in failures:
        console.print(f"[red]✗ failed: {line}[/red]")
    if failures:
        raise typer.Exit(code=1)
    console.print("✓ 所有原始照片已加密并核对 / every original is encrypted and decrypts to its SHA-256")


@app.command()
def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be purged; change nothing.")
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, help="Originals per committed batch.")] = 200,
) -> None:
    """Remove the originals of closed visits older than FEIJIAN_MEDIA_RETENTION_DAYS (the evidence
    rows, display copies and thumbnails stay; every batch and run is audited)."""
    from rich.progress import Progress

    from cli.common import console, engine, settings
    from models.db import unit_of_work
    from services.context import Actor
    from services.evidence_retention import purge as run

    conf = settings()
    eng = engine()
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("清理 / purging", total=None)
            report = run(
                lambda: unit_of_work(eng),
                Actor.system("cli"),
                conf,
                dry_run=dry_run,
                batch_size=batch_size,
                progress=lambda n: progress.advance(task, n),
            )
    except MediaError as err:
        typer.echo(f"✗ {err.message('zh-CN')} / {err.message('en')}", err=True)
        raise typer.Exit(code=2) from None
    days = conf.media_retention_days
    cutoff = report.cutoff.isoformat(timespec="seconds")
    console.print(f"retention {days} days: visits closed before {cutoff}")
    if dry_run:
        for c in report.candidates:
            console.print(f"would purge: evidence {c.evidence_id} ({c.owner}) {c.sha256}")
        console.print(f"{len(report.candidates)} original(s) would be purged (dry run, nothing changed)")
        return
    console.print(
        f"✓ purged {len(report.purged)} evidence original(s): {len(report.deleted)} file(s) deleted, "
        f"{len(report.kept_shared)} kept as another visit's original, {report.batches} batch(es) audited"
    )
