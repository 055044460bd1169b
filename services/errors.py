"""Domain errors: raised in services, mapped once per edge (HTTP problem, chat reply, CLI line)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from services.messages import translate


@dataclass(frozen=True)
class Refusal:
    """What the audit log keeps of a refused attempt; `audit.refused` writes it in its own transaction.

    `also` writes further rows that must survive with the event (a throttle counter); it gets the
    refusal's own session.
    """

    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    details: Mapping[str, Any] = field(default_factory=dict)
    also: Callable[[Any], None] | None = None


class DomainError(Exception):
    """Base of every rule violation; `code` is stable and names the problem type."""

    status = 400
    code = "bad_request"
    refusal: Refusal | None = None

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        if code:
            self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh-CN") -> str:
        """The human message in the given language."""
        return translate(self.code, lang, **self.params)

    def audited(self, refusal: Refusal) -> Self:
        """This error, carrying the audit event its edge keeps although the unit of work rolls back."""
        self.refusal = refusal
        return self


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


# names of record kinds raised as NotFound(entity=KIND) without a text of their own
_ENTITY_NAMES = {
    "round": "轮次 round",
    "crosscheck_run": "比对批次 cross-check run",
    "job": "任务 job",
    "user": "用户 user",
    "household": "住户 household",
}


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def message(self, lang: str = "zh-CN") -> str:
        """Names the record when the raiser said which kind it is; a plain "not found" otherwise."""
        if self.code == "not_found" and "entity" not in self.params:
            return translate("not_found_record", lang)
        entity = self.params.get("entity")
        if self.code == "not_found" and entity in _ENTITY_NAMES:  # raised with the bare kind
            return translate("not_found", lang, entity=_ENTITY_NAMES[entity])
        return super().message(lang)


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Gone(DomainError):
    status = 410
    code = "gone"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
