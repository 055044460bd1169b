"""The sandbox's state file: what a bot may still ask for after a restart, as Telegram keeps it."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox import SandboxServer, make_token
from tests.visit_helpers import jpeg_with_gps


def _download(server: SandboxServer, token: str, file_id: str) -> httpx.Response:
    info = httpx.get(f"{server.bot_base_url}{token}/getFile", params={"file_id": file_id}).json()
    assert info["ok"], info
    return httpx.get(f"{server.bot_base_file_url}{token}/{info['result']['file_path']}")


def test_files_sent_before_a_restart_can_still_be_fetched(tmp_path: Path) -> None:
    """A photo saved while the store was down is fetched later by file_id: a restart must not lose it."""
    state = str(tmp_path / "sandbox.sqlite")
    token = make_token()
    blob = jpeg_with_gps(43.98, 119.38, seed=5)
    with SandboxServer(state_file=state) as first:
        first.sandbox.register_bot(token)
        bot = first.sandbox.bots[token]
        user = first.sandbox.create_user(first_name="拍照")
        doc = first.sandbox.act_document(bot, user["id"], blob, "door.jpg", "image/jpeg")
        photo = first.sandbox.act_photo(bot, user["id"], blob)
    document_id = doc["update"]["message"]["document"]["file_id"]
    sizes = photo["update"]["message"]["photo"]
    with SandboxServer(state_file=state) as second:
        kept = _download(second, token, document_id)
        assert kept.status_code == 200 and kept.content == blob  # a document keeps its bytes
        largest = _download(second, token, sizes[-1]["file_id"])
        assert largest.status_code == 200 and largest.content[:2] == b"\xff\xd8"
        # files sent after the restart get paths of their own, never those of the kept files
        again = second.sandbox.act_document(second.sandbox.bots[token], user["id"], b"%PDF-1.4", "a.pdf")
        new = _download(second, token, again["update"]["message"]["document"]["file_id"])
        assert new.content == b"%PDF-1.4"
        assert _download(second, token, document_id).content == blob
