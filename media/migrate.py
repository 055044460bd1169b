"""Copy a local blob store into an S3 bucket, resumably, proving every object's hash.

Each blob is named by its SHA-256, so a copy is checked against its own name: the local file is
re-hashed before it is sent (a changed file is never carried over), an object already in the
bucket with the right hash is skipped (so an interrupted run simply starts again), and every object
copied is read back and re-hashed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from media.messages import MediaError
from media.s3 import S3BlobStore
from media.storage import NAMESPACES, LocalBlobStore, Namespace

_CHUNK: Final = 1024 * 1024


@dataclass
class MigrationReport:
    """What a migration did, per object (``namespace/sha256``)."""

    copied: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (object, reason)

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return not self.failed


def _file_hash(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def plan(
    source: LocalBlobStore, namespaces: tuple[Namespace, ...] = NAMESPACES
) -> list[tuple[Namespace, str]]:
    """Every (namespace, name) the source holds, in a stable order."""
    return [(ns, name) for ns in namespaces for name in source.iter_names(ns)]


def copy_one(source: LocalBlobStore, target: S3BlobStore, namespace: Namespace, name: str) -> str:
    """Copy one blob; returns ``copied`` or ``skipped``, raises MediaError/ValueError with the reason."""
    path = source.path_of(name, namespace)
    if _file_hash(path) != name:
        raise ValueError("the local file no longer matches its SHA-256 (not copied)")
    if target.stored_hash(name, namespace) == name:
        return "skipped"
    target.upload_file(path, name, namespace)
    after = target.stored_hash(name, namespace)
    if after != name:
        raise ValueError(f"read back with SHA-256 {after or 'missing'}")
    return "copied"


def migrate(
    source: LocalBlobStore,
    target: S3BlobStore,
    namespaces: tuple[Namespace, ...] = NAMESPACES,
    on_item: Callable[[str, str], None] | None = None,
) -> MigrationReport:
    """Copy every blob of ``source`` to ``target``; ``on_item(object, outcome)`` follows progress."""
    report = MigrationReport()
    for namespace, name in plan(source, namespaces):
        item = f"{namespace}/{name}"
        try:
            outcome = copy_one(source, target, namespace, name)
        except (MediaError, ValueError, OSError) as exc:
            report.failed.append((item, str(exc)))
            outcome = "failed"
        else:
            (report.copied if outcome == "copied" else report.skipped).append(item)
        if on_item is not None:
            on_item(item, outcome)
    return report
