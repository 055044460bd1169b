"""The notices feed: what the bot must tell whom, and from when.

Services emit a notice (one row per recipient, unique by `key`, so emitting twice is harmless),
optionally due later (e.g. "team not started" at noon of the visit day). The bot polls
`GET /telegram/notices`: due, unfetched notices of bound users; it stores them in its own table
(unique per notice and recipient) and acknowledges them, after which the store hands them out no
more. Unbound recipients' notices wait until they bind.

Two kinds are computed from the rounds tables at each poll rather than emitted by rounds itself, so
that nothing lives only in memory and a restarted bot or store rebuilds them from the database:
- `assignments_released`: one per inspector per round per release moment (`Assignment.released_at`,
  which dispatch and the daily release set); due at the release.
- `team_not_started`: from noon (local time) of a visit day, one per team whose released assignments
  for that day are all still untouched, to the supervisors whose scope holds the round.
Keys make both idempotent; a five-minute overlap on the release cursor covers late commits.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, func, select

from contracts.telegram import NoticeKind, NoticeOut
from models.notice import Notice
from models.region import in_subtree
from models.round import Assignment, AssignmentStatus, InspectionRound, TeamMember
from models.types import utcnow
from models.user import Role, User
from services import case_notices
from services.config import get_settings
from services.context import Actor

RELEASE_OVERLAP = timedelta(minutes=5)


def emit(
    session: Session,
    recipient_id: uuid.UUID,
    kind: NoticeKind,
    params: dict[str, Any],
    key: str,
    due_at: datetime | None = None,
) -> Notice:
    """Queues a notice for one user (a repeat of the same key returns the first)."""
    existing = session.exec(select(Notice).where(Notice.key == key)).first()
    if existing is not None:
        return existing
    notice = Notice(
        key=key[:200], kind=kind, recipient_id=recipient_id, params=params, due_at=due_at or utcnow()
    )
    session.add(notice)
    session.flush()
    return notice


def due(session: Session, actor: Actor, limit: int = 100) -> list[NoticeOut]:
    """Due, unfetched, uncancelled notices of bound active users, oldest first (bot only)."""
    actor.require(Role.bot)
    now = utcnow()
    produce(session, now)
    rows = session.exec(
        select(Notice, User)
        .join(User, col(User.id) == col(Notice.recipient_id))
        .where(
            col(Notice.fetched_at).is_(None),
            col(Notice.cancelled_at).is_(None),
            col(Notice.due_at) <= now,
            col(User.telegram_user_id).is_not(None),
            User.active == True,  # noqa: E712
        )
        .order_by(col(Notice.due_at), col(Notice.created_at))
        .limit(min(max(limit, 1), 500))
    ).all()
    out: list[NoticeOut] = []
    for notice, user in rows:
        assert user.telegram_user_id is not None
        out.append(
            NoticeOut(
                id=notice.id,
                kind=notice.kind,
                recipient_id=user.id,
                telegram_user_id=user.telegram_user_id,
                language=user.language,
                params=notice.params,
                due_at=notice.due_at,
            )
        )
    # residents (not users) are told about their cases in the same feed
    out.extend(case_notices.due(session, min(max(limit, 1), 500) - len(out)))
    session.flush()
    return out


def acknowledge(session: Session, actor: Actor, ids: list[uuid.UUID]) -> int:
    """Marks notices as taken over by the bot; returns how many were newly acknowledged."""
    actor.require(Role.bot)
    if not ids:
        return 0
    now = utcnow()
    count = 0
    for notice in session.exec(select(Notice).where(col(Notice.id).in_(ids))).all():
        if notice.fetched_at is None:
            notice.fetched_at = now
            session.add(notice)
            count += 1
    count += case_notices.acknowledge(session, ids)
    session.flush()
    return count


def produce(session: Session, now: datetime | None = None) -> None:
    """Emits the notices computed from rounds: new releases, and teams not started by noon."""
    now = now or utcnow()
    _produce_releases(session, now)
    _produce_not_started(session, now)
    _produce_ledger(session, now)
    _produce_reviews(session, now)


_LEDGER_EVERY = timedelta(minutes=10)
_ledger_last: list[datetime] = []


def _produce_ledger(session: Session, now: datetime) -> None:
    """Ledger reminders (deadline soon, overdue) at most every ten minutes; keys make each one once."""
    if _ledger_last and now - _ledger_last[0] < _LEDGER_EVERY:
        return
    from services import ledger  # ledger emits through this module

    ledger.emit_due_notices(session, now=now)
    _ledger_last[:] = [now]


_REVIEWS_EVERY = timedelta(hours=1)
_reviews_last: list[datetime] = []


def _produce_reviews(session: Session, now: datetime) -> None:
    """Reviews falling due, at most hourly; keys make each household's notice once per due date."""
    if get_settings().review_notice_days <= 0 or (_reviews_last and now - _reviews_last[0] < _REVIEWS_EVERY):
        return
    from services import reviews  # reviews emits through this module

    reviews.emit_due_notices(session, now.astimezone(ZoneInfo(get_settings().timezone)).date(), now=now)
    _reviews_last[:] = [now]


def _produce_releases(session: Session, now: datetime) -> None:
    last = session.exec(
        select(func.max(Notice.due_at)).where(Notice.kind == NoticeKind.assignments_released)
    ).one()
    q = select(Assignment, InspectionRound).join(
        InspectionRound, col(InspectionRound.id) == col(Assignment.round_id)
    )
    q = q.where(col(Assignment.released_at).is_not(None), col(Assignment.released_at) <= now)
    if last is not None:
        q = q.where(col(Assignment.released_at) > last - RELEASE_OVERLAP)
    rows = session.exec(q).all()
    if not rows:
        return
    members: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for tm in session.exec(
        select(TeamMember).where(col(TeamMember.team_id).in_(list({a.team_id for a, _ in rows})))
    ).all():
        members[tm.team_id].append(tm.user_id)
    groups: dict[tuple[uuid.UUID, uuid.UUID, datetime], list[Assignment]] = defaultdict(list)
    names: dict[uuid.UUID, str] = {}
    for a, r in rows:
        names[r.id] = r.name
        assert a.released_at is not None
        for uid in members[a.team_id]:
            groups[(uid, r.id, a.released_at)].append(a)
    for (uid, rid, at), items in groups.items():
        days = sorted({a.visit_date for a in items})
        emit(
            session,
            uid,
            NoticeKind.assignments_released,
            {
                "round": names[rid],
                "count": len(items),
                "first_date": days[0].isoformat(),
                "last_date": days[-1].isoformat(),
            },
            key=f"released:{uid}:{rid}:{at.isoformat()}",
            due_at=at,
        )


def _produce_not_started(session: Session, now: datetime) -> None:
    local = now.astimezone(ZoneInfo(get_settings().timezone))
    if local.time() < time(12, 0):
        return
    today = local.date()
    rows = session.exec(
        select(Assignment, InspectionRound)
        .join(InspectionRound, col(InspectionRound.id) == col(Assignment.round_id))
        .where(Assignment.visit_date == today, col(Assignment.released_at).is_not(None))
    ).all()
    teams: dict[uuid.UUID, list[Assignment]] = defaultdict(list)
    round_of: dict[uuid.UUID, InspectionRound] = {}
    for a, r in rows:
        teams[a.team_id].append(a)
        round_of[a.team_id] = r
    idle = [t for t, items in teams.items() if all(a.status == AssignmentStatus.released for a in items)]
    if not idle:
        return
    sups = session.exec(select(User).where(User.role == Role.supervisor, User.active == True)).all()  # noqa: E712
    noon = datetime.combine(today, time(12, 0), tzinfo=local.tzinfo)
    for team_id in idle:
        r = round_of[team_id]
        member_ids = [
            m.user_id for m in session.exec(select(TeamMember).where(TeamMember.team_id == team_id))
        ]
        logins = [u.login for u in session.exec(select(User).where(col(User.id).in_(member_ids))).all()]
        for sup in sups:
            if in_subtree(r.scope_code, sup.scope_code):
                emit(
                    session,
                    sup.id,
                    NoticeKind.team_not_started,
                    {"round": r.name, "team": ", ".join(sorted(logins)), "count": len(teams[team_id])},
                    key=f"not_started:{team_id}:{today.isoformat()}:{sup.id}",
                    due_at=noon,
                )
