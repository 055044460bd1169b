"""Errors the sandbox raises: Bot API errors (Telegram's JSON error body) and control API errors."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class BotApiError(Exception):
    """A Bot API error: becomes {"ok": false, "error_code": ..., "description": ...}."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        """Return Telegram's JSON error body."""
        out: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad_request(text: str) -> BotApiError:
    """Return a 400 "Bad Request: ..." error."""
    return BotApiError(400, f"Bad Request: {text}")


class ControlError(Exception):
    """An error in a control API call (HTTP status + message)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
