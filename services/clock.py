"""Client event times: taken when they are plausible, refused when they lie in the future."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.types import utcnow
from services.config import get_settings
from services.errors import ValidationFailed

__all__ = ["bounded", "not_in_future"]


def not_in_future(at: datetime, what: str) -> datetime:
    """A client's event time as aware UTC; refused when it is later than now plus the clock skew."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    now = utcnow()
    skew = get_settings().clock_skew_s
    if aware > now + timedelta(seconds=skew):
        raise ValidationFailed(
            "event_in_future",
            field=what,
            at=aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            now=now.strftime("%Y-%m-%d %H:%M:%S UTC"),
            skew=round(skew),
        )
    return aware


def bounded(at: datetime, what: str) -> datetime:
    """A client's event time to keep: refused beyond the clock skew, never later than now."""
    return min(not_in_future(at, what), utcnow())
