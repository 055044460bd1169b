"""Domain errors: raised in services, mapped once per edge (HTTP problem, chat reply, CLI line)."""

from __future__ import annotations

from typing import Any

from services.messages import translate


class DomainError(Exception):
    """Base of every rule violation; `code` is stable and names the problem type."""

    status = 400
    code = "bad_request"

    def __init__(self, code: str | None = None, /, **params: Any) -> None:
        if code:
            self.code = code
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "zh-CN") -> str:
        """The human message in the given language."""
        return translate(self.code, lang, **self.params)


class ValidationFailed(DomainError):
    status = 422
    code = "validation_failed"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooLarge(DomainError):
    status = 413
    code = "too_large"
