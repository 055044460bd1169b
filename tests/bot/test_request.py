"""The lean Bot API request class against a small HTTP/1.1 server: bodies, framing, keep-alive, errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.request import LeanRequest

Answer = Callable[[bytes, bytes], bytes]


class Server:
    """Records each request (head, body) and answers with `answer(head, body)`."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[tuple[bytes, bytes]] = []
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                reply = self.answer(head, body)
                if not reply:
                    break
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower() or b"x-then-close" in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> Server:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self._server is not None
        self._server.close()


def ok(result: Any = True, extra: str = "") -> bytes:
    body = json.dumps({"ok": True, "result": result}).encode()
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@pytest.fixture
async def request_() -> AsyncIterator[LeanRequest]:
    req = LeanRequest(connection_pool_size=4, read_timeout=2, pool_timeout=2)
    await req.initialize()
    yield req
    await req.shutdown()


def form(**values: Any) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in values.items()])


async def test_form_body_and_keep_alive(request_: LeanRequest) -> None:
    async with Server(lambda _h, _b: ok({"message_id": 7})) as server:
        url = f"http://127.0.0.1:{server.port}/botTOKEN/sendMessage"
        for _ in range(3):
            status, body = await request_.do_request(url, "POST", form(chat_id=5, text="你好 & co"))
            assert status == 200 and json.loads(body)["result"] == {"message_id": 7}
        assert server.connections == 1  # one connection, kept alive
        head, sent = server.requests[0]
        assert head.startswith(b"POST /botTOKEN/sendMessage HTTP/1.1\r\n")
        assert b"application/x-www-form-urlencoded" in head
        assert sent == b"chat_id=5&text=%E4%BD%A0%E5%A5%BD+%26+co"


async def test_multipart_with_a_file(request_: LeanRequest) -> None:
    async with Server(lambda _h, _b: ok()) as server:
        url = f"http://127.0.0.1:{server.port}/botTOKEN/sendPhoto"
        photo = InputFile(b"\xff\xd8JPEG", filename="p.jpg")
        status, _ = await request_.do_request(url, "POST", form(chat_id=5, photo=photo))
        assert status == 200
        head, sent = server.requests[0]
        assert b"multipart/form-data; boundary=" in head
        assert b'name="chat_id"\r\n\r\n5\r\n' in sent
        assert b'filename="p.jpg"' in sent and b"\xff\xd8JPEG" in sent


async def test_chunked_answer_and_connection_close(request_: LeanRequest) -> None:
    def chunked(_h: bytes, _b: bytes) -> bytes:
        return b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + (
            b'5\r\n{"ok"\r\n4\r\n:1}\n\r\n0\r\n\r\n'
        )

    async with Server(chunked) as server:
        url = f"http://127.0.0.1:{server.port}/botTOKEN/getMe"
        assert await request_.do_request(url, "POST") == (400, b'{"ok":1}\n')
        assert await request_.do_request(url, "POST") == (400, b'{"ok":1}\n')
        assert server.connections == 2  # "Connection: close" is honoured


async def test_a_connection_the_server_closed_while_idle_is_not_reused(request_: LeanRequest) -> None:
    answers = iter([ok(extra="X-Then-Close: 1\r\n")])  # answers, then closes without saying so

    async with Server(lambda _h, _b: next(answers, ok())) as server:
        url = f"http://127.0.0.1:{server.port}/botTOKEN/getMe"
        assert (await request_.do_request(url, "POST"))[0] == 200
        await asyncio.sleep(0.05)  # the close reaches the client
        assert (await request_.do_request(url, "POST"))[0] == 200
        assert server.connections == 2


async def test_a_connection_dropped_mid_request_is_an_error(request_: LeanRequest) -> None:
    answers = iter([ok(), b""])  # the server answers, then drops the connection on the next request

    async with Server(lambda _h, _b: next(answers, ok())) as server:
        url = f"http://127.0.0.1:{server.port}/botTOKEN/getMe"
        assert (await request_.do_request(url, "POST"))[0] == 200
        with pytest.raises(NetworkError):
            await request_.do_request(url, "POST")  # dropped mid-request: an error, never a hang
        assert (await request_.do_request(url, "POST"))[0] == 200


async def test_timeouts_and_refused_connections() -> None:
    req = LeanRequest(read_timeout=0.2)
    await req.initialize()
    async with Server(lambda _h, _b: b"") as server:  # never answers... and closes
        pass
    with pytest.raises(NetworkError):
        await req.do_request(f"http://127.0.0.1:{server.port}/x", "POST")

    hang = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hang.wait()
        writer.close()

    srv = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    with pytest.raises(TimedOut):
        await req.do_request(f"http://127.0.0.1:{port}/x", "POST")
    hang.set()
    srv.close()
    await req.shutdown()


def test_auto_picks_the_lean_client_for_the_sandbox_and_httpx_for_telegram() -> None:
    from bot.settings import BotSettings

    token = "123456789:" + "A" * 35
    assert BotSettings(telegram_token=None).request_kind == "lean"
    assert BotSettings(telegram_token=token).request_kind == "httpx"
    # a real token against a local Bot API server (the sandbox, as the benchmarks run it) stays lean
    local = "http://127.0.0.1:8081/bot"
    assert BotSettings(telegram_token=token, telegram_api_url=local).request_kind == "lean"
    assert BotSettings(telegram_token=token, telegram_request="lean").request_kind == "lean"
