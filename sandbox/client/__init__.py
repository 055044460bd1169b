"""Typed helpers over the sandbox control API: act as Telegram users and read what the bot sent.

    client = SandboxClient(server.url)          # or AsyncSandboxClient(server.url)
    alice = client.user(first_name="Alice")
    client.send_text(alice.id, "/start CODE")
    reply = client.wait_for_message(alice.id, lambda m: "欢迎" in m.text)
    client.press(alice.id, reply.message_id, reply.callback_data("任务"))

Every user action returns an `ActionResult`; `wait_for_message` then looks only at messages the bot
sent or edited after the last action in that chat (pass `since=` to choose another point).

`AsyncSandboxClient` (aio.py, actions.py, base.py) is the implementation; `SandboxClient` (sync.py)
runs its coroutines and blocks. models.py holds what both return.
"""

from sandbox.client.aio import AsyncSandboxClient
from sandbox.client.models import ActionResult, ChatMessage, ChatView, InlineButton, SandboxError, SandboxUser
from sandbox.client.sync import SandboxClient

__all__ = [
    "ActionResult",
    "AsyncSandboxClient",
    "ChatMessage",
    "ChatView",
    "InlineButton",
    "SandboxClient",
    "SandboxError",
    "SandboxUser",
]
