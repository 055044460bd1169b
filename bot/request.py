"""A lean Bot API request class: HTTP/1.1 over asyncio streams with a LIFO pool of kept-alive connections.

PTB's default HTTPXRequest goes through httpx and httpcore; under load httpcore rescans its whole pool
(and asks every idle socket whether it is readable) for each request and each response, which was the
largest single share of the bot's CPU. The Bot API needs little of that: one host, POST of a form or a
multipart body, a JSON answer. Here a request takes the most recently used idle connection (or opens
one), writes the request, reads a Content-Length or chunked answer and puts the connection back.
"""

from __future__ import annotations

import asyncio
import secrets
import ssl
import time
from collections import deque
from typing import Any
from urllib.parse import urlencode, urlsplit

from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter, float]  # reader, writer, idle since


class LeanRequest(BaseRequest):
    """A BaseRequest for one Bot API host (plain HTTP or HTTPS), without proxies or HTTP/2."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        keepalive_expiry: float = 5.0,
    ) -> None:
        self._size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._keepalive = keepalive_expiry
        self._idle: dict[tuple[str, str, int], deque[_Conn]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._ssl: ssl.SSLContext | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Makes the pool's slots (on the running loop)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._size)

    async def shutdown(self) -> None:
        """Closes every idle connection."""
        for queue in self._idle.values():
            while queue:
                _, writer, _ = queue.pop()
                writer.close()
        self._idle.clear()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Sends one request and returns (status code, body)."""
        if self._slots is None:
            raise RuntimeError("This LeanRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        read_t = self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout
        conn_t = self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool_t = self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout
        if isinstance(write_timeout, DefaultValue):
            write_t = self._write_timeout if not files else self._media_write_timeout
        else:
            write_t = write_timeout
        head, body = _encode(url, method, request_data, files)
        try:
            async with asyncio.timeout(pool_t):
                await self._slots.acquire()
        except TimeoutError as err:
            raise TimedOut(
                message="Pool timeout: All connections in the connection pool are occupied. "
                "Request was *not* sent to Telegram. Consider adjusting the connection "
                "pool size or the pool timeout."
            ) from err
        try:
            return await self._exchange(url, head, body, conn_t, write_t, read_t)
        finally:
            self._slots.release()

    async def _exchange(
        self,
        url: str,
        head: bytes,
        body: bytes,
        conn_t: float | None,
        write_t: float | None,
        read_t: float | None,
    ) -> tuple[int, bytes]:
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if secure else 80))
        conn = self._take(key)
        writer: asyncio.StreamWriter | None = None
        try:
            if conn is None:
                async with asyncio.timeout(conn_t):
                    reader, writer = await asyncio.open_connection(
                        key[1], key[2], ssl=self._context() if secure else None
                    )
            else:
                reader, writer, _ = conn
            async with asyncio.timeout(write_t):
                writer.write(head)
                writer.write(body)
                await writer.drain()
            async with asyncio.timeout(read_t):
                status, content, keep = await _read_response(reader)
        except TimeoutError as err:
            if writer is not None:
                writer.close()
            raise TimedOut from err
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as err:
            if writer is not None:
                writer.close()
            raise NetworkError(f"LeanRequest: {err.__class__.__name__}: {err}") from err
        if keep:
            self._idle.setdefault(key, deque()).append((reader, writer, time.monotonic()))
        else:
            writer.close()
        return status, content

    def _take(self, key: tuple[str, str, int]) -> _Conn | None:
        """The most recently used idle connection still open and not idle too long, else None."""
        queue = self._idle.get(key)
        now = time.monotonic()
        while queue:
            reader, writer, since = queue.pop()
            # A server's close arrives as EOF on the reader (the loop has already seen it): no syscall.
            if now - since < self._keepalive and not reader.at_eof() and not writer.is_closing():
                return reader, writer, since
            writer.close()
        return None

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl


def _encode(url: str, method: str, data: RequestData | None, files: Any) -> tuple[bytes, bytes]:
    """The request's head and body: a form, or multipart when files are sent."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    headers = [
        f"{method} {target} HTTP/1.1",
        f"Host: {parts.netloc}",
        f"User-Agent: {BaseRequest.USER_AGENT}",
    ]
    params = data.json_parameters if data else {}
    if files:
        boundary = "feijian" + secrets.token_hex(16)
        body = _multipart(boundary, params, files)
        headers.append(f"Content-Type: multipart/form-data; boundary={boundary}")
    elif params:
        body = urlencode(params).encode()
        headers.append("Content-Type: application/x-www-form-urlencoded")
    else:
        body = b""
    if body or method == "POST":
        headers.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode(), body


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")


def _multipart(boundary: str, params: dict[str, str], files: Any) -> bytes:
    out: list[bytes] = []
    dash = f"--{boundary}\r\n".encode()
    for name, value in params.items():
        out += [dash, f'Content-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'.encode()]
        out += [value.encode(), b"\r\n"]
    for name, spec in files.items():
        filename, content, mimetype = spec  # PTB's (file name, bytes or file object, MIME type)
        if hasattr(content, "read"):
            content = content.read()
        if isinstance(content, str):
            content = content.encode()
        disposition = f'Content-Disposition: form-data; name="{_quote(name)}"; filename="{_quote(filename)}"'
        out += [dash, disposition.encode(), b"\r\n"]
        out += [f"Content-Type: {mimetype or 'application/octet-stream'}\r\n\r\n".encode()]
        out += [content, b"\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, whether the connection can be reused)."""
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    version, status, *_ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return int(status), b"".join(chunks), keep
    if "content-length" in headers:
        return int(status), await reader.readexactly(int(headers["content-length"])), keep
    return int(status), await reader.read(), False  # delimited by the close
