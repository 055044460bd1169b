"""A typed async client for the store's API, as the bot sees it (a phone app would be the same).

Every store path the bot uses is in `ENDPOINTS` below and nowhere else; each endpoint has one typed
method taking and returning `contracts` models. A queued outbox job names its operation (`OPS`) and
is replayed with `StoreClient.call`, so the bot's own tables never hold a store path.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from contracts.evidence import EvidencePublic
from contracts.evidence import EvidenceSourceValue as EvidenceSource
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

__all__ = [
    "ENDPOINTS",
    "OPS",
    "TELEGRAM_USER_HEADER",
    "Assignment",
    "DueNotice",
    "Profile",
    "StoreClient",
    "StoreError",
    "StoreUnavailable",
]

M = TypeVar("M", bound=BaseModel)

# Every store endpoint the bot calls: name -> (method, path template). The only store paths in bot/.
ENDPOINTS: dict[str, tuple[str, str]] = {
    "telegram_bind": ("POST", "/telegram/bind"),
    "telegram_profile": ("GET", "/telegram/me"),
    "set_language": ("PUT", "/telegram/me/language"),
    "due_notices": ("GET", "/telegram/notices"),
    "ack_notices": ("POST", "/telegram/notices/ack"),
    "mark_unreachable": ("POST", "/telegram/unreachable"),
    "my_assignments": ("GET", "/me/assignments"),
    "my_assignment": ("GET", "/me/assignments/{assignment_id}"),
    "mark_assignment": ("POST", "/me/assignments/{assignment_id}/status"),
    "start_visit": ("POST", "/visits"),
    "get_visit": ("GET", "/visits/{visit_id}"),
    "visit_events": ("POST", "/visits/{visit_id}/events"),
    "cancel_visit": ("POST", "/visits/{visit_id}/cancel"),
    "finish_visit": ("POST", "/visits/{visit_id}/finish"),
    "upload_evidence": ("POST", "/visits/{visit_id}/evidence"),
    "get_evidence": ("GET", "/evidence/{evidence_id}"),
}

# Operations a queued outbox job may name (its label), replayed by `StoreClient.call`.
OPS: frozenset[str] = frozenset(
    {"language", "unreachable", "visit_events", "visit_cancel", "visit_finish", "assignment_status"}
)

_NOTICES = TypeAdapter(list[NoticeOut])
_ASSIGNMENTS = TypeAdapter(list[MyAssignment])


def path_of(endpoint: str, **params: object) -> str:
    """The store path of an endpoint with its path parameters filled in."""
    return ENDPOINTS[endpoint][1].format(**{k: str(v) for k, v in params.items()})


class StoreUnavailable(Exception):
    """The store could not be reached or failed (connection, timeout, 5xx, 429): try again later."""


class StoreError(Exception):
    """The store refused the request (4xx problem): retrying the same request will not help."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


# ---- legacy shapes, kept while the handlers move to the `contracts` models ----------------------


@dataclass(frozen=True)
class Profile:
    """The bound staff user behind a Telegram account (legacy view of `TelegramProfile`)."""

    user_id: str
    login: str
    name: str
    role: str
    language: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Profile:
        """From the store's JSON."""
        return cls(str(data["user_id"]), data["login"], data["name"], data["role"], data["language"])

    @classmethod
    def from_contract(cls, p: TelegramProfile) -> Profile:
        """From the typed profile."""
        return cls(str(p.user_id), p.login, p.name, p.role.value, p.language)


@dataclass(frozen=True)
class Assignment:
    """A released assignment as its inspector sees it (legacy view of `MyAssignment`)."""

    id: str
    round_name: str
    register_no: str
    head_name: str | None
    village_name: str | None
    village_code: str
    address: str | None
    lat: float | None
    lon: float | None
    datum: str | None
    visit_date: date
    status: str
    route_order: int = 0
    checklist_ids: list[str] = field(default_factory=list)
    teammates: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, d: dict[str, Any]) -> Assignment:
        """From the store's JSON (`GET /me/assignments`)."""
        return cls(
            id=str(d["id"]),
            round_name=str(d.get("round_name") or ""),
            register_no=str(d.get("register_no") or ""),
            head_name=d.get("head_name"),
            village_name=d.get("village_name"),
            village_code=str(d.get("village_code") or ""),
            address=d.get("address"),
            lat=d.get("lat"),
            lon=d.get("lon"),
            datum=d.get("datum"),
            visit_date=date.fromisoformat(str(d["visit_date"])),
            status=str(d.get("status") or "released"),
            route_order=int(d.get("route_order") or 0),
            checklist_ids=list(d.get("checklist_ids") or []),
            teammates=list(d.get("teammates") or []),
        )

    @classmethod
    def from_contract(cls, a: MyAssignment) -> Assignment:
        """From the typed assignment."""
        return cls.of(a.model_dump(mode="json"))


@dataclass(frozen=True)
class DueNotice:
    """A notice the store wants delivered (legacy view of `NoticeOut`)."""

    id: str
    kind: str
    telegram_user_id: int
    language: str
    params: dict[str, Any]

    @classmethod
    def from_contract(cls, n: NoticeOut) -> DueNotice:
        """From the typed notice."""
        return cls(str(n.id), n.kind, n.telegram_user_id, n.language, dict(n.params))


class StoreClient:
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

    async def request(
        self,
        method: str,
        path: str,
        *,
        telegram_user_id: int | None = None,
        json: Any = None,
        params: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One call; StoreUnavailable for transient failures, StoreError for refusals."""
        headers = _headers(telegram_user_id, idempotency_key)
        try:
            resp = await self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise StoreUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if resp.status_code == 429 and _code(resp) not in ("error", "too_many_requests"):
            raise StoreError(429, _code(resp), _detail(resp))  # a rule's refusal (bind_throttled)
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise StoreUnavailable(f"HTTP {resp.status_code}")
        if resp.status_code == 409 and _code(resp) == "idempotency_in_progress":
            raise StoreUnavailable("idempotency_in_progress")
        if resp.status_code >= 400:
            raise StoreError(resp.status_code, _code(resp), _detail(resp))
        if resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    async def upload(
        self,
        path: str,
        *,
        files: dict[str, tuple[str, bytes, str]],
        data: dict[str, str],
        telegram_user_id: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = None,
    ) -> Any:
        """A multipart POST (evidence photos); the same errors as `request`."""
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
        if resp.status_code >= 500 or resp.status_code in (408, 429):
            raise StoreUnavailable(f"HTTP {resp.status_code}")
        if resp.status_code == 409 and _code(resp) == "idempotency_in_progress":
            raise StoreUnavailable("idempotency_in_progress")
        if resp.status_code >= 400:
            raise StoreError(resp.status_code, _code(resp), _detail(resp))
        return resp.json() if resp.content else None

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
        method = ENDPOINTS[endpoint][0]
        data = await self.request(
            method,
            path_of(endpoint, **path_params),
            telegram_user_id=telegram_user_id,
            json=body.model_dump(mode="json", exclude_unset=True) if body is not None else None,
            params=params,
            idempotency_key=idempotency_key,
        )
        return _parse(out, data)

    # ---- Telegram binding, profile, language ----------------------------------------------------

    async def telegram_bind(self, code: str, telegram_user_id: int, idempotency_key: str) -> TelegramProfile:
        """Binds the Telegram account with an invite code (`POST /telegram/bind`)."""
        body = _body(BindIn, {"code": code, "telegram_user_id": telegram_user_id})
        return await self._call("telegram_bind", TelegramProfile, body=body, idempotency_key=idempotency_key)

    async def telegram_profile(self, telegram_user_id: int) -> TelegramProfile | None:
        """The bound user, or None when this Telegram account is not bound (`GET /telegram/me`)."""
        try:
            return await self._call("telegram_profile", TelegramProfile, telegram_user_id=telegram_user_id)
        except StoreError as exc:
            if exc.code in ("telegram_not_bound", "unauthorized", "token_invalid"):
                return None
            raise

    async def set_language(
        self, telegram_user_id: int, language: Lang, idempotency_key: str
    ) -> TelegramProfile:
        """Remembers the bound user's language (`PUT /telegram/me/language`)."""
        return await self._call(
            "set_language",
            TelegramProfile,
            body=_body(LanguageIn, {"language": language}),
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
        )

    # ---- notices and unreachable users ----------------------------------------------------------

    async def notices_due(self, limit: int = 100) -> list[NoticeOut]:
        """Notices due now for bound users (`GET /telegram/notices`)."""
        method, _ = ENDPOINTS["due_notices"]
        data = await self.request(method, path_of("due_notices"), params={"limit": limit})
        return _parse_list(_NOTICES, data)

    async def notices_ack(self, ids: Sequence[str | uuid.UUID]) -> AckOut:
        """Tells the store these notices are in the bot's own table (`POST /telegram/notices/ack`)."""
        if not ids:
            return AckOut(acknowledged=0)
        return await self._call("ack_notices", AckOut, body=_body(AckIn, {"ids": [str(i) for i in ids]}))

    async def mark_unreachable(self, telegram_user_id: int, idempotency_key: str) -> UnreachableOut:
        """A user blocked the bot: the store records it and tells their supervisors."""
        return await self._call(
            "mark_unreachable",
            UnreachableOut,
            body=_body(UnreachableIn, {"telegram_user_id": telegram_user_id}),
            idempotency_key=idempotency_key,
        )

    # ---- the inspector's assignments ------------------------------------------------------------

    async def list_my_assignments(
        self, telegram_user_id: int, released_since: datetime | None = None
    ) -> list[MyAssignment]:
        """The inspector's released assignments (`GET /me/assignments`)."""
        method, _ = ENDPOINTS["my_assignments"]
        params = {"released_since": released_since.isoformat()} if released_since else None
        data = await self.request(
            method, path_of("my_assignments"), telegram_user_id=telegram_user_id, params=params
        )
        return _parse_list(_ASSIGNMENTS, data)

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
            body=_body(MarkIn, {"status": status}),
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
            body=_body(VisitStart, data),
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
        batch = events if isinstance(events, EventBatch) else _body(EventBatch, {"events": list(events)})
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
        body = finish if isinstance(finish, VisitFinish) else _body(VisitFinish, dict(finish))
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
        source: EvidenceSource = "upload",
        step_id: str | None = None,
        forwarded: bool = False,
        timeout: float | None = None,
    ) -> EvidencePublic:
        """Uploads one photo to a visit; the answer is the store's verdict."""
        form = {"source": source, "forwarded": "true" if forwarded else "false"}
        if step_id:
            form["step_id"] = step_id
        data = await self.upload(
            path_of("upload_evidence", visit_id=visit_id),
            files={"file": (file_name, content, mime)},
            data=form,
            telegram_user_id=telegram_user_id,
            idempotency_key=idempotency_key,
            timeout=timeout,
        )
        return _parse(EvidencePublic, data)

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
        """Replays a queued outbox job by operation name (see `OPS`); the same errors as `request`.

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
        if op not in handlers:
            raise StoreError(400, "unknown_operation", f"no store operation named {op!r}")
        return await handlers[op]()

    # ---- legacy names, kept while the handlers move to the typed methods above ------------------

    async def bind(self, code: str, telegram_user_id: int, idempotency_key: str) -> Profile:
        """Binds the Telegram account with an invite code (legacy: use `telegram_bind`)."""
        return Profile.from_contract(await self.telegram_bind(code, telegram_user_id, idempotency_key))

    async def profile(self, telegram_user_id: int) -> Profile | None:
        """The bound user, or None when not bound (legacy: use `telegram_profile`)."""
        p = await self.telegram_profile(telegram_user_id)
        return Profile.from_contract(p) if p is not None else None

    async def my_assignments(self, telegram_user_id: int) -> list[Assignment]:
        """The inspector's released assignments (legacy: use `list_my_assignments`)."""
        return [Assignment.from_contract(a) for a in await self.list_my_assignments(telegram_user_id)]

    async def due_notices(self, limit: int = 100) -> list[DueNotice]:
        """Notices due now (legacy: use `notices_due`)."""
        return [DueNotice.from_contract(n) for n in await self.notices_due(limit)]

    async def ack_notices(self, ids: list[str]) -> None:
        """Tells the store these notices are in the bot's own table (legacy: use `notices_ack`)."""
        if ids:
            await self.notices_ack(ids)


def _headers(telegram_user_id: int | None, idempotency_key: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if telegram_user_id is not None:
        headers[TELEGRAM_USER_HEADER] = str(telegram_user_id)
    if idempotency_key:
        headers["Idempotency-Key"] = idempotency_key
    return headers


def _body(model: type[M], data: Mapping[str, Any]) -> M:
    """A request body checked against its contract; a refused one is final, like the store's 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise StoreError(422, "validation_failed", str(exc)[:300]) from exc


def _parse(model: type[M], data: Any) -> M:
    """The store's answer as its contract model; an answer that does not fit is a store failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise StoreUnavailable(f"unexpected answer for {model.__name__}: {exc}"[:300]) from exc


def _parse_list(adapter: TypeAdapter[list[M]], data: Any) -> list[M]:
    try:
        return adapter.validate_python(data or [])
    except ValidationError as exc:
        raise StoreUnavailable(f"unexpected answer: {exc}"[:300]) from exc


def _user(telegram_user_id: int | None) -> int:
    if telegram_user_id is None:
        raise StoreError(400, "telegram_user_missing", "this operation acts for a Telegram user")
    return telegram_user_id


def _need(value: str | uuid.UUID | None) -> str | uuid.UUID:
    if value is None:
        raise StoreError(400, "path_parameter_missing", "this operation needs its visit or assignment id")
    return value


def _code(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("code") or "error")
    except ValueError:
        return "error"


def _detail(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("detail") or resp.text)[:300]
    except ValueError:
        return resp.text[:300]
