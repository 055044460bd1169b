"""Local Telegram Bot API sandbox: a Bot API server, a control API to act as users, and a /chat page.

Typical test use::

    from sandbox import SandboxServer, SandboxClient, make_token

    with SandboxServer() as server:
        token = make_token()
        app = (
            ApplicationBuilder().token(token)
            .base_url(server.bot_base_url).base_file_url(server.bot_base_file_url).build()
        )
        client = SandboxClient(server.url, bot=token)
        ...
"""

from sandbox.client import (
    ActionResult,
    AsyncSandboxClient,
    ChatMessage,
    ChatView,
    InlineButton,
    SandboxClient,
    SandboxError,
    SandboxUser,
)
from sandbox.runner import SandboxServer, make_token, serve
from sandbox.server import create_app
from sandbox.state import Sandbox, SandboxConfig

__all__ = [
    "ActionResult",
    "AsyncSandboxClient",
    "ChatMessage",
    "ChatView",
    "InlineButton",
    "Sandbox",
    "SandboxClient",
    "SandboxConfig",
    "SandboxError",
    "SandboxServer",
    "SandboxUser",
    "create_app",
    "make_token",
    "serve",
]
