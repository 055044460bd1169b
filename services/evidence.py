"""Evidence in the store: run the media pipeline on an upload, keep bytes by hash, judge, serve, verify."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO, Literal

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from contracts.evidence import EvidencePublic, EvidencePurpose, EvidenceSource, SiteStatus
from contracts.vocab import Datum
from media.encrypted import EncryptedBlobStore
from media.envelope import MediaKeyring
from media.exif import resolve_tz
from media.geo import Fix
from media.hashing import Candidate
from media.messages import MediaError
from media.pipeline import ProcessedEvidence, process_full
from media.storage import NAMESPACES, BlobStore, Namespace, S3Options, open_blob_store
from models.evidence import Evidence
from models.household import Household
from models.types import utcnow
from models.visit import Visit, VisitStatus
from services import access, audit, clock
from services.config import Settings
from services.context import Actor
from services.errors import Gone, NotFound, Unavailable, ValidationFailed

WINDOW_SLACK = timedelta(minutes=30)  # photos taken shortly before check-in still belong to the visit
MAX_CANDIDATES = 50_000
log = logging.getLogger(__name__)


def s3_options(settings: Settings) -> S3Options:
    """The S3 endpoint settings (unset ones fall to boto3's own chain)."""
    secret = settings.s3_secret_access_key
    return S3Options(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        addressing_style=settings.s3_addressing_style,
        sse=settings.s3_sse,
        sse_kms_key_id=settings.s3_sse_kms_key_id,
    )


def media_keyring(settings: Settings) -> MediaKeyring | None:
    """The evidence master keys, None when FEIJIAN_MEDIA_KEY is unset."""
    current = settings.media_key_bytes()
    return None if current is None else MediaKeyring.of(current, settings.media_old_key_bytes())


def blob_store(settings: Settings, url: str | None = None) -> BlobStore:
    """The blob store ``url`` names, by default the configured one (FEIJIAN_MEDIA_URL or media_dir).

    Every part of the product that touches evidence bytes gets its store here: with FEIJIAN_MEDIA_KEY
    set, originals (and derived copies when FEIJIAN_MEDIA_ENCRYPT_DERIVED) are encrypted at rest.
    """
    inner = open_blob_store(url or settings.media_location(), s3_options(settings))
    keyring = media_keyring(settings)
    if keyring is None:
        return inner
    namespaces: tuple[Namespace, ...] = NAMESPACES if settings.media_encrypt_derived else ("original",)
    return EncryptedBlobStore(inner, keyring, namespaces)


def _live_fixes(visit: Visit) -> tuple[list[Fix], Fix | None]:
    live: list[Fix] = []
    static: Fix | None = None
    for f in visit.track:
        if f.get("rejected"):
            continue
        fix = Fix(f["lat"], f["lon"], datetime.fromisoformat(f["at"]), f.get("accuracy_m"))
        if f.get("live"):
            live.append(fix)
        else:
            static = fix
    return live, static


def reuse_candidates(session: Session, visit_id: uuid.UUID | None = None) -> list[Candidate]:
    """Earlier evidence to look for reuse in: every row but those of this visit (item photos too)."""
    query = sa_select(
        col(Evidence.id),
        col(Evidence.perceptual_hash),
        col(Evidence.visit_id),
        col(Evidence.household_id),
        col(Evidence.received_at),
    )
    if visit_id is not None:
        query = query.where((col(Evidence.visit_id) != visit_id) | col(Evidence.visit_id).is_(None))
    rows = session.execute(query.order_by(col(Evidence.received_at).desc()).limit(MAX_CANDIDATES)).all()
    return [
        Candidate(ph, str(eid), str(vid) if vid is not None else None, str(hid), at)
        for eid, ph, vid, hid, at in rows
    ]


def parse_kind(
    source: str, purpose: EvidencePurpose | str | None
) -> tuple[EvidenceSource, EvidencePurpose | None]:
    """The upload's source and declared purpose, refused (422) when not one of theirs."""
    try:
        src = EvidenceSource(source)
    except ValueError as exc:
        raise ValidationFailed(
            detail=f"source must be one of {', '.join(s.value for s in EvidenceSource)}"
        ) from exc
    try:
        kind = EvidencePurpose(purpose) if purpose is not None else None
    except ValueError as exc:
        raise ValidationFailed(
            detail=f"purpose must be one of {', '.join(p.value for p in EvidencePurpose)}"
        ) from exc
    return src, kind


def household_point(household: Household | None) -> tuple[float, float, str] | None:
    """The household's recorded position (lat, lon, datum), None when it has none."""
    if household is None or household.lat is None or household.lon is None:
        return None
    return (household.lat, household.lon, (household.datum or Datum.wgs84))


def run_pipeline(
    actor: Actor, settings: Settings, data: bytes, what: str, **kwargs: Any
) -> ProcessedEvidence:
    """The media pipeline on one photo; a refused photo is a 422 with its reason, a store down a 503."""
    try:
        return process_full(data, store=blob_store(settings), tz=settings.timezone, **kwargs)
    except MediaError as exc:
        if exc.code == "store_unavailable":
            log.error("evidence upload for %s: %s", what, exc)
            raise Unavailable("media_store_unavailable") from exc
        raise ValidationFailed(
            "media_rejected", detail=exc.message("en" if actor.lang == "en" else "zh-CN"), reason=exc.code
        ) from exc


def evidence_row(
    processed: ProcessedEvidence,
    actor: Actor,
    household_id: uuid.UUID,
    src: EvidenceSource,
    document: bool,
    now: datetime,
    sent: datetime | None = None,
    **where: Any,
) -> Evidence:
    """The evidence row of a processed photo (``where``: its visit_id and step_id, or ledger_item_id)."""
    rep = processed.report
    v = rep.verdict
    return Evidence(
        **where,
        household_id=household_id,
        uploaded_by=actor.label,
        source=src,
        sha256=rep.sha256,
        display_sha256=rep.display.sha256,
        thumb_sha256=rep.thumbnail.sha256,
        mime=rep.mime,
        size_bytes=rep.size_bytes,
        width=rep.width,
        height=rep.height,
        captured_at=rep.exif.captured_at,
        received_at=now,
        sent_at=sent,
        exif=rep.exif.model_dump(mode="json"),
        gps_lat=rep.gps.lat if rep.gps else None,
        gps_lon=rep.gps.lon if rep.gps else None,
        position_source=rep.position.source,
        position_lat=rep.position.lat,
        position_lon=rep.position.lon,
        distance_m=v.distance_m,
        site=v.site,
        fresh=v.fresh,
        reused=v.reused,
        edited=v.edited,
        forwarded=v.forwarded,
        accepted=v.accepted,
        phash=rep.phash,
        perceptual_hash=rep.perceptual_hash,
        verdict=v.model_dump(mode="json"),
        purpose=EvidencePurpose.DOCUMENT if document else EvidencePurpose.GENERAL,
    )


def add_evidence(
    session: Session,
    actor: Actor,
    settings: Settings,
    visit_id: uuid.UUID,
    data: bytes,
    source: str,
    step_id: str | None = None,
    forwarded: bool = False,
    sent_at: datetime | None = None,
    purpose: EvidencePurpose | str | None = None,
) -> Evidence:
    """Runs the pipeline on one photo of a visit in progress and stores it (the same bytes once per visit).

    ``sent_at`` is when the inspector sent it (the chat message's date): refused beyond the clock
    skew in the future, never later than its arrival, and its event time (a photo sent offline
    arrives later than it was sent).

    A document photo (``purpose=document``, or a photo for a step about documents, see
    ``is_document_photo``) has the text-like regions of its display copy and thumbnail pixelated
    before they are stored.
    """
    visit = access.visit_for_actor(session, actor, visit_id, write=True)
    if visit.status != VisitStatus.in_progress:
        raise ValidationFailed("visit_not_in_progress")
    sent = clock.bounded(sent_at, "sent_at") if sent_at is not None else None
    src, kind = parse_kind(source, purpose)
    document = is_document_photo(kind, step_id)
    live, static = _live_fixes(visit)
    now = utcnow()
    zone = resolve_tz(settings.timezone)
    processed = run_pipeline(
        actor,
        settings,
        data,
        f"visit {visit.id}",
        source=src,
        household=household_point(session.get(Household, visit.household_id)),
        window=(visit.started_at - WINDOW_SLACK, now + timedelta(minutes=5)),
        live_fixes=live,
        static_fix=static,
        earlier=reuse_candidates(session, visit.id),
        visit_id=str(visit.id),
        household_id=str(visit.household_id),
        forwarded=forwarded,
        received_at=sent or now,
        visit_day=visit.started_at.astimezone(zone).date(),
        radius_m=settings.onsite_radius_m,
        document=document,
    )
    rep = processed.report
    existing = session.exec(
        select(Evidence).where(Evidence.visit_id == visit.id, Evidence.sha256 == rep.sha256)
    ).first()
    if existing is not None:
        return existing
    ev = evidence_row(
        processed, actor, visit.household_id, src, document, now, sent, visit_id=visit.id, step_id=step_id
    )
    session.add(ev)
    session.flush()
    v = rep.verdict
    audit.record(
        session,
        actor,
        "evidence.add",
        "evidence",
        ev.id,
        visit=str(visit.id),
        sha256=rep.sha256,
        site=v.site.value,
        reused=v.reused,
        fresh=v.fresh,
        purpose=ev.purpose.value,
    )
    return ev


# Steps whose photos show documents (ID card, 户口簿, passbook or card statement, file pages, the
# signed form) by their id: a photo for one of them is a document photo even when the client did
# not say so. ``amount_received`` is where the passbook is photographed, ``files_photo`` the
# township's file pages, ``signed_form_photo`` the form with the household's particulars.
_DOCUMENT_STEP = re.compile(
    r"document|passbook|id_card|idcard|hukou|bank_card|bankbook|statement|archive|certificate|file"
    r"|signed_form|amount_received"
)


def is_document_photo(purpose: EvidencePurpose | None, step_id: str | None) -> bool:
    """Whether a photo is a document photo: declared so, or taken for a step about documents.

    An explicit ``general`` does not override the step: when in doubt, the copies are redacted.
    """
    if purpose is EvidencePurpose.DOCUMENT:
        return True
    return step_id is not None and _DOCUMENT_STEP.search(step_id.lower()) is not None


def to_public(ev: Evidence, lang: str = "zh-CN") -> EvidencePublic:
    """The API view: verdict and reasons in the language, no photo GPS."""
    reasons = [
        {
            "code": r["code"],
            "severity": r["severity"],
            "message": r["message"].get(lang) or r["message"].get("zh-CN"),
        }
        for r in ev.verdict.get("reasons", [])
    ]
    return EvidencePublic(
        **ev.model_dump(
            include={
                "id",
                "visit_id",
                "ledger_item_id",
                "step_id",
                "source",
                "mime",
                "width",
                "height",
                "captured_at",
                "received_at",
                "sent_at",
                "purpose",
                "purged_at",
                "position_source",
                "distance_m",
                "site",
                "fresh",
                "reused",
                "edited",
                "forwarded",
                "accepted",
            }
        ),
        reasons=reasons,
        reused_in=list(ev.verdict.get("reused_in", [])),
    )


def proof_for(session: Session, visit: Visit, evidence_ids: list[str]) -> dict[str, Any]:
    """Whether photos prove a core step: of this visit, fresh, not off site, not reused, not forwarded."""
    ids = []
    for raw in evidence_ids:
        try:
            ids.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    rows = (
        session.exec(select(Evidence).where(col(Evidence.id).in_(ids), Evidence.visit_id == visit.id)).all()
        if ids
        else []
    )
    if not rows:
        return {"status": "unproven", "reason": "no_photo_of_this_visit"}
    for ev in rows:
        if ev.fresh is not False and ev.site != SiteStatus.OFF_SITE and not ev.reused and not ev.forwarded:
            return {"status": "proven", "evidence_id": str(ev.id), "site": ev.site, "fresh": ev.fresh}
    worst = rows[0]
    reason = (
        "forwarded"
        if worst.forwarded
        else "reused"
        if worst.reused
        else "off_site"
        if worst.site == SiteStatus.OFF_SITE
        else "not_fresh"
    )
    return {"status": "unproven", "reason": reason, "evidence_id": str(worst.id)}


def get_evidence(session: Session, actor: Actor, evidence_id: uuid.UUID) -> Evidence:
    """One piece of evidence the actor may see (participants of the visit, supervisors in scope)."""
    return access.evidence_for_actor(session, actor, evidence_id)


@dataclass(frozen=True)
class Blob:
    """A derived copy to send: its bytes stream and media type."""

    stream: BinaryIO
    media_type: str


def open_copy(
    session: Session,
    actor: Actor,
    settings: Settings,
    evidence_id: uuid.UUID,
    kind: Literal["display", "thumbnail"],
) -> Blob:
    """The EXIF-free display copy or thumbnail; every view is audited."""
    ev = get_evidence(session, actor, evidence_id)
    sha = ev.display_sha256 if kind == "display" else ev.thumb_sha256
    try:
        stream = blob_store(settings).open(sha, "derived")
    except MediaError as exc:
        if exc.code != "blob_missing":
            raise Unavailable("media_store_unavailable") from exc
        log.error("evidence %s: %s copy %s is missing from the media store", ev.id, kind, sha)
        raise Gone("evidence_file_missing", kind=kind) from exc
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise NotFound(entity="证据文件 evidence file") from exc
    audit.record(session, actor, f"evidence.view_{kind}", "evidence", ev.id)
    return Blob(stream, "image/jpeg")


def verify_store(settings: Settings) -> Iterator[str]:
    """Re-hashes every stored original and yields the SHA-256 names whose bytes changed."""
    yield from blob_store(settings).verify("original")


@dataclass(frozen=True)
class MissingBlob:
    """A file the store's records point at that the media store does not hold."""

    evidence_id: str
    kind: Literal["original", "display", "thumbnail"]
    sha256: str


def missing_blobs(session: Session, settings: Settings) -> list[MissingBlob]:
    """Every original, display copy and thumbnail recorded for evidence but absent from the store
    (an original purged after the retention period is not missing)."""
    store = blob_store(settings)
    held = {ns: set(store.iter_names(ns)) for ns in NAMESPACES}
    rows = session.execute(
        sa_select(
            col(Evidence.id),
            col(Evidence.sha256),
            col(Evidence.display_sha256),
            col(Evidence.thumb_sha256),
            col(Evidence.purged_at),
        ).order_by(col(Evidence.received_at), col(Evidence.id))
    ).all()
    missing: list[MissingBlob] = []
    for eid, original, display, thumb, purged_at in rows:
        if purged_at is None and original not in held["original"]:
            missing.append(MissingBlob(str(eid), "original", original))
        if display not in held["derived"]:
            missing.append(MissingBlob(str(eid), "display", display))
        if thumb not in held["derived"]:
            missing.append(MissingBlob(str(eid), "thumbnail", thumb))
    return missing
