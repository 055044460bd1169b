"""The store's API as the bot calls it: the one table of paths, the error types, the parse helpers.

Every store path the bot uses is in `ENDPOINTS` below and nowhere else in bot/; `StoreClient`
(bot/store_client.py) has one typed method per entry. A queued outbox job names its operation
(`OPS`), so the bot's own tables never hold a store path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

__all__ = [
    "ENDPOINTS",
    "NOT_BOUND_CODES",
    "OPS",
    "StoreError",
    "StoreUnavailable",
    "answer_of",
    "error_code",
    "error_detail",
    "parse",
    "parse_list",
    "path_of",
    "request_body",
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
    "resident_lookup": ("POST", "/residents/lookup"),
    "resident_cases": ("GET", "/residents/cases"),
    "resident_complain": ("POST", "/residents/cases"),
    "resident_rate": ("POST", "/residents/cases/rate"),
    "ledger_items": ("GET", "/ledger"),
    "ledger_item": ("GET", "/ledger/{item_id}"),
    "ledger_submit_fix": ("POST", "/ledger/{item_id}/submit-fix"),
    "ledger_verify": ("POST", "/ledger/{item_id}/verify"),
    "ledger_return": ("POST", "/ledger/{item_id}/return"),
    "ledger_upload_evidence": ("POST", "/ledger/{item_id}/evidence"),
}

# Codes with which the store says this Telegram account is not (or no longer) bound to a user.
NOT_BOUND_CODES = ("telegram_not_bound", "unauthorized", "token_invalid")

# Operations a queued outbox job may name (its label), replayed by `StoreClient.call`.
OPS: frozenset[str] = frozenset(
    {"language", "unreachable", "visit_events", "visit_cancel", "visit_finish", "assignment_status"}
)


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


def request_body(model: type[M], data: Mapping[str, Any]) -> M:
    """A request body checked against its contract; a refused one is final, like the store's 422."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise StoreError(422, "validation_failed", str(exc)[:300]) from exc


def parse(model: type[M], data: Any) -> M:
    """The store's answer as its contract model; an answer that does not fit is a store failure."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise StoreUnavailable(f"unexpected answer for {model.__name__}: {exc}"[:300]) from exc


def parse_list(adapter: TypeAdapter[list[M]], data: Any) -> list[M]:
    """The store's list answer as contract models (no answer is an empty list)."""
    try:
        return adapter.validate_python(data or [])
    except ValidationError as exc:
        raise StoreUnavailable(f"unexpected answer: {exc}"[:300]) from exc


def error_code(resp: httpx.Response) -> str:
    """The machine-readable code of a problem answer ("error" when it has none)."""
    try:
        return str(resp.json().get("code") or "error")
    except ValueError:
        return "error"


def error_detail(resp: httpx.Response) -> str:
    """The human-readable detail of a problem answer, cut to a loggable length."""
    try:
        return str(resp.json().get("detail") or resp.text)[:300]
    except ValueError:
        return resp.text[:300]


def answer_of(resp: httpx.Response) -> Any:
    """The answer's JSON (None when empty), or the error a failed answer means."""
    if resp.status_code >= 500 or resp.status_code in (408, 429):
        raise StoreUnavailable(f"HTTP {resp.status_code}")
    if resp.status_code == 409 and error_code(resp) == "idempotency_in_progress":
        raise StoreUnavailable("idempotency_in_progress")
    if resp.status_code >= 400:
        raise StoreError(resp.status_code, error_code(resp), error_detail(resp))
    if resp.status_code == 204 or not resp.content:
        return None
    return resp.json()
