"""Background jobs with progress: the row is the record (queued, running, then its outcome), so every
API worker answers a job's state; the row counts while it runs are kept in the running process only."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlmodel import Session, col, select

from contracts.household_import import JobPublic
from models.job import Job, JobKind, JobStatus
from models.types import utcnow
from services.context import Actor
from services.errors import DomainError, NotFound

SessionFactory = Callable[[], AbstractContextManager[Session]]
_live: dict[uuid.UUID, tuple[int, int]] = {}


def create(session: Session, actor: Actor, kind: JobKind) -> Job:
    """Records a queued job."""
    job = Job(kind=kind, created_by=actor.label)
    session.add(job)
    session.flush()
    return job


def progress(job_id: uuid.UUID, done: int, total: int) -> None:
    """Notes live progress of a running job (visible to GET /jobs in this process)."""
    _live[job_id] = (done, total)


def run(factory: SessionFactory, job_id: uuid.UUID, work: Callable[[Session], dict[str, Any]]) -> None:
    """Runs work in its own unit of work and records the outcome on the job, whatever happens."""
    with factory() as session:
        job = session.get(Job, job_id)
        if job is not None and job.status == JobStatus.queued:
            job.status = JobStatus.running  # seen by every worker, not only this process
            session.add(job)
    try:
        with factory() as session:
            result = work(session)
        status = JobStatus.succeeded
    except DomainError as exc:
        result = {"code": exc.code, "detail": exc.message("zh-CN"), "detail_en": exc.message("en")}
        result.update({k: v for k, v in exc.params.items() if k == "report"})
        status = JobStatus.failed
    except Exception as exc:  # a job must always end with a status, never hang as "running"
        result = {"code": "internal", "detail": type(exc).__name__}
        status = JobStatus.failed
    with factory() as session:
        job = session.get(Job, job_id)
        if job is not None:
            job.status = status
            job.result = result
            done, total = _live.pop(job_id, (0, 0))
            job.processed = int(result.get("rows", done)) if isinstance(result, dict) else done
            job.total = max(total, job.processed)
            job.finished_at = utcnow()
            session.add(job)


def get(session: Session, actor: Actor, job_id: uuid.UUID) -> JobPublic:
    """A job's state, with live progress while it runs here."""
    job = session.get(Job, job_id)
    if job is None or (job.created_by != actor.label and actor.role != "admin"):
        raise NotFound(entity="job")
    public = JobPublic.model_validate(job, from_attributes=True)
    if job_id in _live:
        done, total = _live[job_id]
        public.processed, public.total = done, total
        public.status = JobStatus.running
    return public


def unfinished(session: Session, actor: Actor, kind: JobKind, limit: int = 20) -> list[JobPublic]:
    """The actor's queued or running jobs of a kind, newest first, with live progress."""
    q = (
        select(Job)
        .where(
            Job.kind == kind,
            Job.created_by == actor.label,
            col(Job.status).in_([JobStatus.queued, JobStatus.running]),
        )
        .order_by(col(Job.created_at).desc())
        .limit(limit)
    )
    return [get(session, actor, job.id) for job in session.exec(q).all()]
