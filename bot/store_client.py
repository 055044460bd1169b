"""A typed async client for the store's API, as the bot sees it (a phone app would be the same).

Each endpoint of the one table in bot/store_endpoints.py has one typed method here, taking and
returning `contracts` models. A queued outbox job names its operation (`OPS`) and is replayed with
`StoreClient.call`, so the bot's own tables never hold a store path.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from bot.store_endpoints import (
    ENDPOINTS,
    NOT_BOUND_CODES,
    OPS,
    StoreError,
    StoreUnavailable,
    answer_of,
    error_code,
    error_detail,
    parse,
    parse_list,
    path_of,
    request_body,
)
from bot.store_residents import ResidentCalls
from contracts.evidence import EvidencePublic, EvidenceSource
from contracts.rounds import AssignmentStatus, MarkIn, MyAssignment
from contracts.telegram import (
    TELEGRAM_USER_HEADER,
    AckIn,
    AckOut,
    BindIn,
    LanguageIn,
    NoticeOut,
    TelegramProfile,
    UnreachableIn,
    UnreachableOut,
)
from contracts.visits import EventBatch, VisitFinish, VisitPublic, VisitStart
from contracts.vocab import Lang

__all__ = ["StoreClient", "StoreError", "StoreUnavailable"]

M = TypeVar("M", bound=BaseModel)

_NOTICES = TypeAdapter(list[NoticeOut])
_ASSIGNMENTS = TypeAdapter(list[MyAssignment])


class StoreClient(ResidentCalls):
    """The store API over HTTP with the bot's service token: one typed method per endpoint."""

    def __init__(
        self, base_url: str, token: str | None, timeout: float = 10.0, transport: Any = None
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/api/v1", headers=headers, timeout=timeout, transport=transport
        )

    async def aclose(self) -> None:
        """Closes the connection pool."""
        await self._http.aclose()

    # ---- transport ------------------------------------------------------------------------------

    async def _request(
        self,
        endpoint: str,
        path_params: Mapping[str, object] | None = None,
        *,
        telegram_user_id: int | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One JSON call to an endpoint; StoreUnavailable for transient failures, StoreError for refusals."""
        headers = _headers(telegram_user_id, idempotency_key)
        method, path = ENDPOINTS[endpoint][0], path_of(endpoint, **(path_params or {}))
        try:
            resp = await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429 and error_code(resp) not in ("error", "too_many_requests"):
            raise StoreError(429, error_code(resp), error_detail(resp))  # a rule's refusal (bind_throttled)
        return answer_of(resp)

    async def _upload(
        self,
        path: str,
        *,
        files: Any,
        data: dict[str, str],
        telegram_user_id: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A multipart POST (evidence photos); the same errors as `_request`."""
        headers = _headers(telegram_user_id, idempotency_key)
        try:
            resp = await self._http.post(
                path,
                files=files,
                data=data,
                headers=headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return answer_of(resp)

    async def _call(
        self,
        endpoint: str,
        out: type[M],
        *,
        body: BaseModel | None = None,
        telegram_user_id: int | None = None,
        idempotency_key: str | None = None,
        params: dict[str, Any] | None = None,
        **path_params: object,
    ) -> M:
        """One typed call: the endpoint's method and path, the body as JSON, the answer validated."""
        data = await self._request(
            endpoint,
            path_params,
            telegram_user_id=telegram_user_id,
            json=body.model_dump(mode="json", exclude_unset=True) if body is not None else None,
            params=params,
            idempotency_key=idempotency_key,
        )
        return parse(out, data)

    # ---- Telegram binding, profile, language ----------------------------------------------------

    async def telegram_bind(self, code: str, telegram_user_id: int, idempotency_key: str) -> TelegramProfile:
        """Binds the Telegram account with an invite code (`POST /telegram/bind`)."""
        body = request_body(BindIn, {"code": code, "telegram_user_id": telegram_user_id})
        return await self._call("telegram_bind", TelegramProfile, body=body, idempotency_key=idempotency_key)

    async def telegram_profile(self, telegram_user_id: int) -> TelegramProfile | None:
        """The bound user, or None when this Telegram account is not bound (`GET /telegram/me`)."""
        try:
            return await self._call("telegram_profile", TelegramProfile, telegram_user_id=telegram_user_id)
        except StoreError as exc:
            if exc.code in NOT_BOUND_CODES:
                return None
            raise

    async def set_language(
        self, telegram_user_id: int, language: Lang, idempotency_key: str
    ) -> TelegramProfile:
        """Remembers the bound user's language (`PUT /telegram/me/language`)."""
        return await self._call(
            "set_language",
            TelegramProfile,
            body=request_body(LanguageIn, {"language": language}),
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
        )

    # ---- notices and unreachable users ----------------------------------------------------------

    async def notices_due(self, limit: int = 100) -> list[NoticeOut]:
        """Notices due now for bound users (`GET /telegram/notices`)."""
        data = await self._request("due_notices", params={"limit": limit})
        return parse_list(_NOTICES, data)

    async def notices_ack(self, ids: Sequence[str | uuid.UUID]) -> AckOut:
        """Tells the store these notices are in the bot's own table (`POST /telegram/notices/ack`)."""
        if not ids:
            return AckOut(acknowledged=0)
        return await self._call(
            "ack_notices", AckOut, body=request_body(AckIn, {"ids": [str(i) for i in ids]})
        )

    async def mark_unreachable(self, telegram_user_id: int, idempotency_key: str) -> UnreachableOut:
        """A user blocked the bot: the store records it and tells their supervisors."""
        return await self._call(
            "mark_unreachable",
            UnreachableOut,
            body=request_body(UnreachableIn, {"telegram_user_id": telegram_user_id}),
            idempotency_key=idempotency_key,
        )

    # ---- the inspector's assignments ------------------------------------------------------------

    async def list_my_assignments(
        self, telegram_user_id: int, released_since: datetime | None = None
    ) -> list[MyAssignment]:
        """The inspector's released assignments (`GET /me/assignments`)."""
        params = {"released_since": released_since.isoformat()} if released_since else None
        data = await self._request("my_assignments", telegram_user_id=telegram_user_id, params=params)
        return parse_list(_ASSIGNMENTS, data)

    async def my_assignment(self, telegram_user_id: int, assignment_id: str | uuid.UUID) -> MyAssignment:
        """One of the inspector's released assignments (404 StoreError otherwise)."""
        return await self._call(
            "my_assignment", MyAssignment, telegram_user_id=telegram_user_id, assignment_id=assignment_id
        )

    async def mark_assignment(
        self, telegram_user_id: int, assignment_id: str | uuid.UUID, status: AssignmentStatus | str
    ) -> MyAssignment:
        """Moves an assignment on (in_progress, done, revisit)."""
        return await self._call(
            "mark_assignment",
            MyAssignment,
            body=request_body(MarkIn, {"status": status}),
            telegram_user_id=telegram_user_id,
            assignment_id=assignment_id,
        )

    # ---- visits and evidence --------------------------------------------------------------------

    async def start_visit(
        self,
        telegram_user_id: int,
        assignment_id: str | uuid.UUID,
        idempotency_key: str,
        checklist_id: str | None = None,
    ) -> VisitPublic:
        """Starts the visit of a released assignment, or joins the teammate's visit (`POST /visits`)."""
        data: dict[str, Any] = {"assignment_id": str(assignment_id)}
        if checklist_id is not None:
            data["checklist_id"] = checklist_id
        return await self._call(
            "start_visit",
            VisitPublic,
            body=request_body(VisitStart, data),
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
        )

    async def get_visit(self, telegram_user_id: int, visit_id: str | uuid.UUID) -> VisitPublic:
        """One visit with the store's findings."""
        return await self._call(
            "get_visit", VisitPublic, telegram_user_id=telegram_user_id, visit_id=visit_id
        )

    async def visit_events(
        self,
        telegram_user_id: int,
        visit_id: str | uuid.UUID,
        events: Sequence[Mapping[str, Any]] | EventBatch,
        idempotency_key: str,
    ) -> VisitPublic:
        """Adds locations, notes and step timings to a visit in progress."""
        batch = (
            events if isinstance(events, EventBatch) else request_body(EventBatch, {"events": list(events)})
        )
        return await self._call(
            "visit_events",
            VisitPublic,
            body=batch,
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
            visit_id=visit_id,
        )

    async def cancel_visit(
        self, telegram_user_id: int, visit_id: str | uuid.UUID, idempotency_key: str
    ) -> VisitPublic:
        """Cancels a visit in progress; the assignment goes back on the list."""
        return await self._call(
            "cancel_visit",
            VisitPublic,
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
            visit_id=visit_id,
        )

    async def finish_visit(
        self,
        telegram_user_id: int,
        visit_id: str | uuid.UUID,
        finish: Mapping[str, Any] | VisitFinish,
        idempotency_key: str,
    ) -> VisitPublic:
        """Submits the answers; the store replays them and derives its own findings."""
        body = finish if isinstance(finish, VisitFinish) else request_body(VisitFinish, dict(finish))
        return await self._call(
            "finish_visit",
            VisitPublic,
            body=body,
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
            visit_id=visit_id,
        )

    async def upload_evidence(
        self,
        telegram_user_id: int,
        visit_id: str | uuid.UUID,
        content: bytes,
        *,
        idempotency_key: str,
        file_name: str = "photo.jpg",
        mime: str = "image/jpeg",
        source: EvidenceSource = EvidenceSource.UPLOAD,
        step_id: str | None = None,
        forwarded: bool = False,
        sent_at: str | None = None,
        timeout: float | None = None,
    ) -> EvidencePublic:
        """Uploads one photo to a visit (``sent_at``: the chat message's date, ISO 8601); the answer
        is the store's verdict."""
        form = {"source": source, "forwarded": "true" if forwarded else "false"}
        if step_id:
            form["step_id"] = step_id
        if sent_at:
            form["sent_at"] = sent_at
        data = await self._upload(
            path_of("upload_evidence", visit_id=visit_id),
            files={"file": (file_name, content, mime)},
            data=form,
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
            timeout=timeout,
        )
        return parse(EvidencePublic, data)

    async def get_evidence(self, telegram_user_id: int, evidence_id: str | uuid.UUID) -> EvidencePublic:
        """The verdict of one photo, with reasons in the user's language."""
        return await self._call(
            "get_evidence", EvidencePublic, telegram_user_id=telegram_user_id, evidence_id=evidence_id
        )

    # ---- outbox replay --------------------------------------------------------------------------

    async def call(
        self,
        op: str,
        body: Mapping[str, Any] | None,
        idempotency_key: str,
        *,
        telegram_user_id: int | None = None,
        visit_id: str | uuid.UUID | None = None,
        assignment_id: str | uuid.UUID | None = None,
    ) -> BaseModel:
        """Replays a queued outbox job by operation name (see `OPS`); the same errors as `_request`.

        The path parameters come as arguments or, when absent, from the body's own `visit_id` /
        `assignment_id` keys (which are then not sent). A body the contract refuses raises
        StoreError(422): replaying it later would not help either.
        """
        data = dict(body or {})
        visit_id = visit_id if visit_id is not None else data.pop("visit_id", None)
        assignment_id = assignment_id if assignment_id is not None else data.pop("assignment_id", None)
        handlers: dict[str, Callable[[], Awaitable[BaseModel]]] = {
            "language": lambda: self.set_language(
                _user(telegram_user_id), data.get("language", ""), idempotency_key
            ),
            "unreachable": lambda: self.mark_unreachable(
                int(data.get("telegram_user_id") or _user(telegram_user_id)), idempotency_key
            ),
            "visit_events": lambda: self.visit_events(
                _user(telegram_user_id), _need(visit_id), data.get("events") or [], idempotency_key
            ),
            "visit_cancel": lambda: self.cancel_visit(
                _user(telegram_user_id), _need(visit_id), idempotency_key
            ),
            "visit_finish": lambda: self.finish_visit(
                _user(telegram_user_id), _need(visit_id), data, idempotency_key
            ),
            "assignment_status": lambda: self.mark_assignment(
                _user(telegram_user_id), _need(assignment_id), data.get("status", "")
            ),
        }
        if op not in OPS or op not in handlers:
            raise StoreError(400, "unknown_operation", f"no store operation named {op!r}")
        return await handlers[op]()


def _headers(telegram_user_id: int | None, idempotency_key: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if telegram_user_id is not None:
        headers[TELEGRAM_USER_HEADER] = str(telegram_user_id)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _user(telegram_user_id: int | None) -> int:
    if telegram_user_id is None:
        raise StoreError(400, "telegram_user_missing", "this operation acts for a Telegram user")
    return telegram_user_id


def _need(value: str | uuid.UUID | None) -> str | uuid.UUID:
    if value is None:
        raise StoreError(400, "path_parameter_missing", "this operation needs its visit or assignment id")
    return value
