"""The /chat web page: a static single-page app over the control API."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse, Response

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root() -> Response:
    """Redirect to the chat page."""
    return Response(status_code=307, headers={"Location": "/chat"})


@router.get("/chat", include_in_schema=False)
async def chat_page() -> Response:
    """Serve the chat page."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/chat/{name}", include_in_schema=False)
async def chat_asset(name: str) -> Response:
    """Serve a file of the chat page (only from sandbox/static/)."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        return JSONResponse({"detail": "Not Found"}, status_code=404)
    return FileResponse(path)
