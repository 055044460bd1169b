"""The sandbox's small state file: update numbering, users and chats survive a restart.

Telegram does not restart a bot's update_id numbering when it restarts, and neither does the
sandbox when it has a state file: a bot that remembers handled update ids would otherwise take the
first messages after a restart for ones it has seen. Only what identifies things is kept (bots and
their next update id, users, chats and their next message id) and the files sent (Telegram keeps a
file_id usable, so a bot may fetch a photo long after it was sent); messages and queues are not.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS bot (token TEXT PRIMARY KEY, first_name TEXT, username TEXT,
                                next_update_id INTEGER);
CREATE TABLE IF NOT EXISTS user (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chat (token TEXT, chat_id INTEGER, data TEXT NOT NULL, next_message_id INTEGER,
                                 PRIMARY KEY (token, chat_id));
CREATE TABLE IF NOT EXISTS file (file_id TEXT PRIMARY KEY, data BLOB NOT NULL, meta TEXT NOT NULL);
"""


class StateFile:
    """A SQLite file holding the sandbox's numbering and chats (written as they change)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def load(self) -> dict[str, Any]:
        """Everything stored: {"bots": [...], "users": [...], "chats": [...]}."""
        with self._lock:
            bots = self._db.execute("SELECT token, first_name, username, next_update_id FROM bot").fetchall()
            users = self._db.execute("SELECT data FROM user").fetchall()
            chats = self._db.execute("SELECT token, chat_id, data, next_message_id FROM chat").fetchall()
            files = self._db.execute("SELECT file_id, data, meta FROM file").fetchall()
        return {
            "bots": [
                {"token": t, "first_name": f, "username": u, "next_update_id": n} for t, f, u, n in bots
            ],
            "users": [json.loads(d) for (d,) in users],
            "chats": [
                {"token": t, "chat_id": c, "chat": json.loads(d), "next_message_id": n}
                for t, c, d, n in chats
            ],
            "files": [{"file_id": f, "data": bytes(d), **json.loads(m)} for f, d, m in files],
        }

    def save_bot(self, token: str, first_name: str, username: str, next_update_id: int) -> None:
        """Records a bot and where its update numbering stands."""
        with self._lock:
            self._db.execute(
                "INSERT INTO bot VALUES (?, ?, ?, ?) ON CONFLICT(token) DO UPDATE SET"
                " first_name=excluded.first_name, username=excluded.username,"
                " next_update_id=excluded.next_update_id",
                (token, first_name, username, next_update_id),
            )

    def save_user(self, user: dict[str, Any]) -> None:
        """Records a simulated user."""
        with self._lock:
            self._db.execute(
                "INSERT INTO user VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET data=excluded.data",
                (user["id"], json.dumps(user, ensure_ascii=False)),
            )

    def save_chat(self, token: str, chat_id: int, chat: dict[str, Any], next_message_id: int) -> None:
        """Records a private chat and its next message id."""
        with self._lock:
            self._db.execute(
                "INSERT INTO chat VALUES (?, ?, ?, ?) ON CONFLICT(token, chat_id) DO UPDATE SET"
                " data=excluded.data, next_message_id=excluded.next_message_id",
                (token, chat_id, json.dumps(chat, ensure_ascii=False), next_message_id),
            )

    def close(self) -> None:
        """Closes the file."""
        with self._lock:
            self._db.close()

    def save_file(self, file_id: str, data: bytes, meta: dict[str, Any]) -> None:
        """Records a file (its bytes and what the Bot API says about it) under its file_id."""
        with self._lock:
            self._db.execute(
                "INSERT INTO file VALUES (?, ?, ?) ON CONFLICT(file_id) DO UPDATE SET meta=excluded.meta",
                (file_id, data, json.dumps(meta, ensure_ascii=False)),
            )
