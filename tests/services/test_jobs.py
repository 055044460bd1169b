from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlmodel import Session

from contracts.household_import import JobStatus
from models.job import Job, JobKind
from services import jobs
from services.context import Actor


def test_a_running_job_is_recorded_as_running_for_every_worker(session: Session) -> None:
    job = jobs.create(session, Actor.system("test"), JobKind.household_import)

    @contextmanager
    def factory() -> Iterator[Session]:
        yield session
        session.flush()

    seen: list[JobStatus] = []

    def work(s: Session) -> dict[str, Any]:
        s.expire_all()
        row = s.get(Job, job.id)
        assert row is not None
        seen.append(row.status)  # what another worker reading the row sees meanwhile
        return {"rows": 0}

    jobs.run(factory, job.id, work)
    assert seen == [JobStatus.running]
    assert session.get(Job, job.id).status == JobStatus.succeeded  # type: ignore[union-attr]
