"""Reading multipart uploads with a size cap (refused as soon as the cap is passed)."""

from __future__ import annotations

from fastapi import UploadFile

from services.errors import TooLarge


async def read_capped(upload: UploadFile, limit: int) -> bytes:
    """Reads an upload in chunks, refusing it as soon as it passes the limit."""
    chunks, size = [], 0
    while chunk := await upload.read(1 << 20):
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit=f"{limit // (1024 * 1024)} MB")
        chunks.append(chunk)
    return b"".join(chunks)
