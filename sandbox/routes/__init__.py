"""The sandbox's HTTP routes, one APIRouter per area (assembled by sandbox.server.create_app).

- bot_api.py: /bot<token>/<method>;  files.py: /file/bot<token>/<file_path>
- control.py: /control health, bots, config, rate limits, reset, users
- user_actions.py: /control/users/{id}/... (act as a user)
- control_data.py: /control/updates, chats, callbacks, files, places
- chat_page.py: / and /chat
"""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.routes import bot_api, chat_page, control, control_data, files, user_actions

#: In the order they are mounted (and listed in /control/docs).
ROUTERS: tuple[APIRouter, ...] = (
    bot_api.router,
    files.router,
    control.router,
    user_actions.router,
    control_data.router,
    chat_page.router,
)

__all__ = ["ROUTERS"]
