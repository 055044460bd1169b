"""RFC 9457 problem+json responses: one mapping for every error the API can return."""

from __future__ import annotations

import logging
import re
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.types import Message as AsgiMessage

from models.db import connection_lost, database_unavailable
from services import audit
from services.errors import DomainError, ValidationFailed
from services.messages import pick_language, translate

log = logging.getLogger("feijian.api")
TYPE_BASE = "https://feijian.invalid/problems/"
MEDIA_TYPE = "application/problem+json"
# A JSON request never needs more than this; multipart uploads get the largest upload cap plus framing
# (each upload route still enforces its own, smaller cap on the file itself).
JSON_MAX_BYTES = 1 << 20
UPLOAD_MAX_BYTES = 65 << 20
# Seconds a client waits before retrying when the database is briefly unavailable.
RETRY_AFTER_S = 2
# Scope keys through which a request's handlers tell `ReadRetry` what happened to its database work.
DB_LOST = "feijian.db_connection_lost"
DB_COMMITTING = "feijian.db_committing"

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


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document; `code` names the problem, `errors` lists field errors.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
_PROBLEM_RESPONSE = {"content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """Builds a problem+json response with a stable type URI."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or code.replace("_", " "),
        "status": status,
        "detail": detail,
        "instance": str(request.url.path),
        "code": code,
    }
    body.update(extra)
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"} | (headers or {})
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def lang_of(request: Request) -> str:
    """The response language: the Accept-Language header, zh-CN by default."""
    return pick_language(request.headers.get("accept-language"))


def _document_problems(app: FastAPI) -> None:
    """Makes the OpenAPI schema say what the handlers do: every 4xx is a problem+json document."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                responses = op.setdefault("responses", {})
                if "422" in responses:
                    responses["422"] = {"description": "Validation failed", **_PROBLEM_RESPONSE}
                responses["4XX"] = {"description": "Client error", **_PROBLEM_RESPONSE}
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = PROBLEM_SCHEMA
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header value, lower-cased ("" when absent)."""
    if not content_type:
        return ""
    msg = Message()
    msg["content-type"] = content_type
    return msg.get_content_type() if "/" in content_type else ""


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _body_limit(media_type: str) -> int:
    return UPLOAD_MAX_BYTES if media_type == "multipart/form-data" else JSON_MAX_BYTES


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` when a streamed body passes its cap (handled like any HTTP error)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"request body over {limit // 1024} KiB")
        self.limit = limit


# A NUL escape in a JSON string, unless its backslash is itself escaped: PostgreSQL cannot store NUL in
# text, and SQLite would keep it silently, so it is refused up front the same way on both.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class BodyGuard:
    """Refuses over-long bodies (413) and JSON holding NUL characters (422) before any route reads them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Checks the declared length, then the bytes actually received (JSON is read whole, capped)."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        media_type = _media_type(headers.get("content-type"))
        limit = _body_limit(media_type)
        declared = headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or int(declared) > limit):
            status, code = (413, "too_large") if declared.strip().isdigit() else (400, "bad_request")
            await self._refuse(scope, receive, send, status, code, limit)
            return
        if _is_json(media_type):
            await self._json(scope, receive, send, limit)
            return
        seen = 0

        async def counted() -> AsgiMessage:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Reads a JSON body whole (it is small by definition), checks it and hands it on."""
        chunks: list[bytes] = []
        seen, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            seen += len(chunks[-1])
            if seen > limit:
                await self._refuse(scope, receive, send, 413, "too_large", limit)
                return
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if _JSON_NUL.search(body):
            await self._refuse(
                scope, receive, send, 422, "validation_failed", limit, "NUL (\\u0000) in a string"
            )
            return
        replayed = False

        async def replay() -> AsgiMessage:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(
        scope: Scope, receive: Receive, send: Send, status: int, code: str, limit: int, detail: str = ""
    ) -> None:
        request = Request(scope)
        text = translate(code, lang_of(request), limit=f"{limit // 1024} KiB", detail=detail)
        await problem(request, status, code, text)(scope, receive, send)


class ReadRetry:
    """Runs a read (GET, HEAD) once more when its database connection broke before anything committed.

    A read's unit of work only writes audit events, and those rolled back with the lost connection,
    so a second run on a fresh connection repeats nothing. A loss during the commit itself is not
    retried: the commit may have gone through. The failed run's answer is held back, never sent.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Runs the request; on a lost connection (and a read), discards that answer and runs it again."""
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        first = dict(scope)
        body: list[bytes] = []
        held = False

        async def recording() -> AsgiMessage:
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        async def holding(message: AsgiMessage) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                held = bool(first.get(DB_LOST)) and not first.get(DB_COMMITTING)
            if not held:
                await send(message)

        await self.app(first, recording, holding)
        if not held:
            return
        log.warning("retrying %s %s once on a fresh database connection", scope["method"], scope["path"])
        replayed = False

        async def replay() -> AsgiMessage:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(body), "more_body": False}

        await self.app(dict(scope), replay, send)


def _unavailable(request: Request, exc: DBAPIError | PoolTimeout) -> JSONResponse:
    """The database is briefly unavailable: a retryable 503 with Retry-After, one log line, no traceback."""
    lost = connection_lost(exc)
    if lost:
        request.scope[DB_LOST] = True
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    reason = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else ""
    log.warning(
        "database unavailable on %s %s (%s%s): %s",
        request.method,
        request.url.path,
        type(orig).__name__,
        ", connection lost" if lost else "",
        reason,
    )
    lang = lang_of(request)
    return problem(
        request,
        503,
        "db_unavailable",
        translate("db_unavailable", lang),
        title=translate("db_unavailable_title", lang),
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )


def _internal(request: Request) -> JSONResponse:
    """The 500 answer of an unexpected error (logged with its traceback by the caller)."""
    return problem(request, 500, "internal", translate("internal", lang_of(request)))


def _db_problem(request: Request, exc: IntegrityError | DataError) -> JSONResponse:
    """A constraint the input broke in the database: 409 for uniqueness and references, 422 for values."""
    log.warning("database refused input on %s %s: %s", request.method, request.url.path, exc.orig)
    lang = lang_of(request)
    if isinstance(exc, IntegrityError):
        return problem(request, 409, "conflict", translate("conflict", lang, detail=_db_reason(exc)))
    detail = translate("validation_failed", lang, detail=_db_reason(exc))
    return problem(request, 422, "validation_failed", detail)


def _db_reason(exc: IntegrityError | DataError) -> str:
    """The first line of the driver's message (no SQL, no parameters: they may hold personal data)."""
    text = str(exc.orig).strip().splitlines()
    return text[0][:200] if text else type(exc.orig).__name__


def _console_page(request: Request) -> Any:
    """The console's error page renderer for a request under /console/ (people in browsers get a
    page, not a problem document); None elsewhere."""
    if not request.url.path.startswith("/console/"):
        return None
    return getattr(request.app.state, "console_error_page", None)


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every exception into a problem response."""
    _document_problems(app)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if exc.refusal is not None:
            # The request's unit of work has rolled back by now; the refusal gets a transaction of
            # its own, off the event loop (it may wait for the audit-chain lock).
            await run_in_threadpool(audit.keep_refusal, request.app.state.session_factory, exc)
        page = _console_page(request)
        if page is not None:
            return page(request, exc)  # type: ignore[no-any-return]
        extra = {k: v for k, v in exc.params.items() if k in ("errors", "job_id", "report", "fields")}
        wait = exc.params.get("retry_after")
        headers = {"Retry-After": str(wait)} if wait is not None else None
        return problem(request, exc.status, exc.code, exc.message(lang_of(request)), headers=headers, **extra)

    app.add_middleware(BodyGuard)
    app.add_middleware(ReadRetry)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        return _db_problem(request, exc)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return _db_problem(request, exc)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        # Constraint and value errors have their own handlers above; this sees the rest.
        if database_unavailable(exc):
            return _unavailable(request, exc)
        log.error("database error on %s %s", request.method, request.url.path, exc_info=exc)
        return _internal(request)

    @app.exception_handler(PoolTimeout)
    async def _pool(request: Request, exc: PoolTimeout) -> JSONResponse:
        # Every pooled connection busy past the pool's timeout (a load peak): retryable, not a bug.
        return _unavailable(request, exc)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        # SQLite refuses integers beyond 64 bits at bind time with a bare OverflowError
        log.warning("number out of range on %s %s: %s", request.method, request.url.path, exc)
        detail = translate("validation_failed", lang_of(request), detail="number out of range")
        return problem(request, 422, "validation_failed", detail)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        media_type = _media_type(request.headers.get("content-type"))
        whole_body = any(tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
        if whole_body and media_type and not _is_json(media_type):
            # A JSON operation sent another kind of body: the media type is wrong, not the fields.
            detail = translate("unsupported_media_type", lang_of(request), media_type=media_type)
            return problem(request, 415, "unsupported_media_type", detail)
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ][:50]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:5])
        page = _console_page(request)
        if page is not None:
            return page(request, ValidationFailed(detail=detail))  # type: ignore[no-any-return]
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
        lang = lang_of(request)
        if isinstance(exc, BodyTooLarge):
            return problem(request, 413, code, translate(code, lang, limit=f"{exc.limit // 1024} KiB"))
        detail = exc.detail if isinstance(exc.detail, str) else translate(code, lang)
        return problem(request, exc.status_code, code, detail)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _internal(request)
