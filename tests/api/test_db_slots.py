"""A peak of requests beyond the connection pool waits its turn instead of stalling into 503s."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path

import httpx
import uvicorn

from api.app import create_app
from models.db import make_engine, unit_of_work
from models.migrate import upgrade
from models.user import Role, User
from services import auth
from services.config import Settings


def test_more_requests_than_pooled_connections_are_all_answered(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    upgrade(url)
    # Two connections, and a short wait for one: without admission the worker threads (40) fill
    # with requests waiting for a connection while the two holding one wait for a thread.
    engine = make_engine(url, pool_size=2, max_overflow=0, pool_timeout=3)
    with unit_of_work(engine) as s:
        user = User(login="peak", name="peak", role=Role.inspector)
        s.add(user)
        s.flush()
        token, _ = auth.issue_token(s, user, ttl_hours=1)
    app = create_app(Settings(env="test", media_dir=tmp_path / "media", release_every_s=0), engine=engine)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.05)

    async def peak() -> list[int]:
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(headers=headers, timeout=120, limits=limits) as client:
            calls = [client.get(f"http://127.0.0.1:{port}/api/v1/me/assignments") for _ in range(80)]
            return [r.status_code for r in await asyncio.gather(*calls)]

    try:
        codes = asyncio.run(peak())
    finally:
        server.should_exit = True
        thread.join(20)
        engine.dispose()
    assert codes.count(200) == 80, {c: codes.count(c) for c in set(codes)}
