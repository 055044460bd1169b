"""Every API route answers with a `contracts` model and reads its JSON body as one (one home per shape)."""

from __future__ import annotations

import typing

from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.app import ROUTERS
from api.routes import health

# Routes with no JSON answer to describe, each with its reason.
EXCEPTIONS = {
    ("DELETE", "/auth/token"): "204 No Content",
    ("GET", "/evidence/{evidence_id}/{kind}"): "a file download (image bytes)",
    ("GET", "/healthz"): "liveness probe outside the API",
    ("GET", "/readyz"): "readiness probe outside the API",
    ("GET", "/visits/{visit_id}/form.pdf"): "a file download (the 调查表 PDF)",
    ("GET", "/ledger/export.xlsx"): "a file download (the ledger as XLSX)",
    ("GET", "/cases/replies.xlsx"): "a file download (answers to 12345/信访 cases as XLSX)",
    ("GET", "/ledger/notice.{fmt}"): "a file download (整改通知书 as PDF or DOCX)",
    ("GET", "/cadres/table.xlsx"): "a file download (the cadre-relatives 统计表 as XLSX)",
}


def _models(annotation: object) -> list[type[BaseModel]]:
    """The pydantic models inside an annotation such as `list[X]` or `X | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models(arg)]


def _routes() -> list[APIRoute]:
    """Every route of the app's routers (paths relative to the API prefix)."""
    routes = [r for router in [*ROUTERS, health.router] for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 40  # the walk found the app's routes, not an empty list
    return routes


def test_every_route_declares_a_contract_response_model() -> None:
    seen = set()
    for route in _routes():
        for method in route.methods:
            seen.add((method, route.path))
            if (method, route.path) in EXCEPTIONS:
                continue
            models = _models(route.response_model)
            assert models, f"{method} {route.path} declares no response_model"
            for model in models:
                assert model.__module__.startswith("contracts."), f"{method} {route.path}: {model}"
    assert set(EXCEPTIONS) <= seen, "an exception names a route that no longer exists"


def test_every_json_body_is_a_contract_model() -> None:
    for route in _routes():
        body = route.body_field
        if body is None:
            continue
        for model in _models(body.field_info.annotation):
            # multipart uploads get a form model FastAPI builds itself; JSON bodies are contracts
            if model.__module__.startswith("fastapi"):
                continue
            assert model.__module__.startswith("contracts."), f"{route.path}: {model}"
