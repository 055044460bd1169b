"""Bot API file downloads: GET /file/bot<token>/<file_path> (the path getFile returned)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from sandbox.routes.deps import SandboxDep

router = APIRouter()


@router.get("/file/bot{token}/{file_path:path}", include_in_schema=False)
async def file_download(token: str, file_path: str, sb: SandboxDep) -> Response:
    """Return a stored file's bytes to the bot."""
    sb.bot_for_api(token)
    stored = sb.file_by_path(file_path)
    if stored is None:
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
    return Response(stored.data, media_type=stored.mime_type)
