"""RFC 9457 problem+json responses: one mapping for every error the API can return."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import DomainError
from services.messages import pick_language, translate

log = logging.getLogger("feijian.api")
TYPE_BASE = "https://feijian.invalid/problems/"
MEDIA_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def problem(request: Request, status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    """Builds a problem+json response with a stable type URI."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": code.replace("_", " "),
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        "code": code,
    }
    body.update(extra)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def lang_of(request: Request) -> str:
    """The response language: the Accept-Language header, zh-CN by default."""
    return pick_language(request.headers.get("accept-language"))


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every exception into a problem response."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = {k: v for k, v in exc.params.items() if k in ("errors", "job_id", "report", "fields")}
        return problem(request, exc.status, exc.code, exc.message(lang_of(request)), **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ][:50]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        return problem(
            request,
            422,
            "validation_failed",
            translate("validation_failed", lang_of(request), detail=detail),
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else translate(code, lang_of(request))
        return problem(request, exc.status_code, code, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal", translate("internal", lang_of(request)))
