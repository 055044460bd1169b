"""Register imports run as jobs: a job's status, progress and result."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from contracts.vocab import FROM_ROWS


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobKind(StrEnum):
    """What a background job does."""

    household_import = "household_import"
    crosscheck = "crosscheck"
    case_import = "case_import"


class JobPublic(BaseModel):
    model_config = FROM_ROWS

    id: uuid.UUID
    kind: JobKind
    status: JobStatus
    total: int
    processed: int
    result: dict[str, Any]
    created_at: datetime
    finished_at: datetime | None
