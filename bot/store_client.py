"""A typed async client for the store's API, as the bot sees it (a phone app would be the same)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx

TELEGRAM_USER_HEADER = "X-Feijian-Telegram-User"


class StoreUnavailable(Exception):
    """The store could not be reached or failed (connection, timeout, 5xx, 429): try again later."""


class StoreError(Exception):
    """The store refused the request (4xx problem): retrying the same request will not help."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Profile:
    """The bound staff user behind a Telegram account."""

    user_id: str
    login: str
    name: str
    role: str
    language: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> Profile:
        """From the store's JSON."""
        return cls(str(data["user_id"]), data["login"], data["name"], data["role"], data["language"])


@dataclass(frozen=True)
class Assignment:
    """A released assignment as its inspector sees it (masked name, where, when, status)."""

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


@dataclass(frozen=True)
class DueNotice:
    """A notice the store wants delivered."""

    id: str
    kind: str
    telegram_user_id: int
    language: str
    params: dict[str, Any]


class StoreClient:
    """The store API over HTTP with the bot's service token."""

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
        headers: dict[str, str] = {}
        if telegram_user_id is not None:
            headers[TELEGRAM_USER_HEADER] = str(telegram_user_id)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
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
        headers: dict[str, str] = {}
        if telegram_user_id is not None:
            headers[TELEGRAM_USER_HEADER] = str(telegram_user_id)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
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

    async def bind(self, code: str, telegram_user_id: int, idempotency_key: str) -> Profile:
        """Binds the Telegram account with an invite code."""
        data = await self.request(
            "POST",
            "/telegram/bind",
            json={"code": code, "telegram_user_id": telegram_user_id},
            idempotency_key=idempotency_key,
        )
        return Profile.of(data)

    async def profile(self, telegram_user_id: int) -> Profile | None:
        """The bound user, or None when this Telegram account is not bound."""
        try:
            return Profile.of(await self.request("GET", "/telegram/me", telegram_user_id=telegram_user_id))
        except StoreError as exc:
            if exc.code in ("telegram_not_bound", "unauthorized", "token_invalid"):
                return None
            raise

    async def my_assignments(self, telegram_user_id: int) -> list[Assignment]:
        """The inspector's released assignments."""
        data = await self.request("GET", "/me/assignments", telegram_user_id=telegram_user_id)
        return [Assignment.of(d) for d in data or []]

    async def due_notices(self, limit: int = 100) -> list[DueNotice]:
        """Notices due now."""
        data = await self.request("GET", "/telegram/notices", params={"limit": limit})
        return [
            DueNotice(str(d["id"]), d["kind"], int(d["telegram_user_id"]), d["language"], dict(d["params"]))
            for d in data or []
        ]

    async def ack_notices(self, ids: list[str]) -> None:
        """Tells the store these notices are in the bot's own table."""
        if ids:
            await self.request("POST", "/telegram/notices/ack", json={"ids": ids})


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
