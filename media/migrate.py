"""Copy a local blob store into an S3 bucket, resumably, proving every object's hash.

Each blob is named by its SHA-256, so a copy is checked against its own name: the local file is
re-hashed before it is sent (a changed file is never carried over), an object already in the
bucket with the right hash is skipped (so an interrupted run simply starts again), and every object
copied is read back and re-hashed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from media.envelope import EnvelopeError, MediaKeyring, plain_sha256
from media.messages import MediaError
from media.s3 import S3BlobStore
from media.storage import NAMESPACES, LocalBlobStore, Namespace


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


def _file_hash(path: Path, keyring: MediaKeyring | None) -> str:
    return plain_sha256(path.open("rb"), keyring)


def plan(
    source: LocalBlobStore, namespaces: tuple[Namespace, ...] = NAMESPACES
) -> list[tuple[Namespace, str]]:
    """Every (namespace, name) the source holds, in a stable order."""
    return [(ns, name) for ns in namespaces for name in source.iter_names(ns)]


def _target_hash(
    target: S3BlobStore, name: str, namespace: Namespace, keyring: MediaKeyring | None
) -> str | None:
    try:
        raw = target.open(name, namespace)
    except MediaError as exc:
        if exc.code == "blob_missing":
            return None
        raise
    try:
        return plain_sha256(raw, keyring)
    except EnvelopeError:
        return None


def copy_one(
    source: LocalBlobStore,
    target: S3BlobStore,
    namespace: Namespace,
    name: str,
    keyring: MediaKeyring | None = None,
) -> str:
    """Copy one blob as it is stored (an encrypted blob stays encrypted); returns ``copied`` or
    ``skipped``, raises MediaError/ValueError with the reason. Hashes are of the plaintext: an
    encrypted blob is decrypted with ``keyring`` to be checked."""
    path = source.path_of(name, namespace)
    if _file_hash(path, keyring) != name:
        raise ValueError("the local file no longer matches its SHA-256 (not copied)")
    if _target_hash(target, name, namespace, keyring) == name:
        return "skipped"
    target.upload_file(path, name, namespace)
    after = _target_hash(target, name, namespace, keyring)
    if after != name:
        raise ValueError(f"read back with SHA-256 {after or 'missing'}")
    return "copied"


def migrate(
    source: LocalBlobStore,
    target: S3BlobStore,
    namespaces: tuple[Namespace, ...] = NAMESPACES,
    on_item: Callable[[str, str], None] | None = None,
    keyring: MediaKeyring | None = None,
) -> MigrationReport:
    """Copy every blob of ``source`` to ``target``; ``on_item(object, outcome)`` follows progress."""
    report = MigrationReport()
    for namespace, name in plan(source, namespaces):
        item = f"{namespace}/{name}"
        try:
            outcome = copy_one(source, target, namespace, name, keyring)
        except (MediaError, ValueError, OSError) as exc:
            report.failed.append((item, str(exc)))
            outcome = "failed"
        else:
            (report.copied if outcome == "copied" else report.skipped).append(item)
        if on_item is not None:
            on_item(item, outcome)
    return report
