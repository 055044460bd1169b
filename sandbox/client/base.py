"""HTTP plumbing of the async control API client: requests, errors, per-chat cursors."""

from __future__ import annotations

from typing import Any

import httpx

from sandbox.client.models import JSON, ActionResult, SandboxError


def _raise_for(resp: httpx.Response) -> Any:
    """Return the decoded body (JSON or bytes), or raise SandboxError for an HTTP error."""
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail", resp.text)
        except ValueError:
            detail = resp.text
        raise SandboxError(resp.status_code, str(detail))
    if resp.headers.get("content-type", "").startswith("application/json"):
        return resp.json()
    return resp.content


class ClientBase:
    """An httpx.AsyncClient on the sandbox plus the cursor of each chat's last user action."""

    def __init__(self, base_url: str, bot: str | None = None, timeout: float = 10.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._bot = bot
        #: chat id -> cursor of the last action there; wait_for_message looks at what came after it
        self._cursors: dict[int, int] = {}
        self._http = httpx.AsyncClient(base_url=self._base_url, timeout=timeout)

    @property
    def base_url(self) -> str:
        """The sandbox base URL."""
        return self._base_url

    def _q(self, bot: str | None) -> dict[str, Any]:
        b = bot or self._bot
        return {"bot": b} if b else {}

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        data: dict[str, str] | None = None,
    ) -> Any:
        resp = await self._http.request(method, path, json=json, params=params, files=files, data=data)
        return _raise_for(resp)

    async def _action(
        self,
        user_id: int,
        what: str,
        body: JSON | None,
        bot: str | None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
        data: dict[str, str] | None = None,
    ) -> ActionResult:
        """POST a user action and remember its cursor for the user's chat."""
        path = f"/control/users/{user_id}/{what}"
        answer = await self._request("POST", path, json=body, params=self._q(bot), files=files, data=data)
        result = ActionResult.from_json(answer)
        self._cursors[user_id] = result.cursor
        return result

    async def _media(
        self,
        user_id: int,
        what: str,
        data: bytes,
        file_name: str,
        mime_type: str | None,
        caption: str | None,
        as_file: bool,
        bot: str | None,
        date: int | None = None,
    ) -> ActionResult:
        """Send an image or file as a multipart upload."""
        files = {"file": (file_name, data, mime_type or "application/octet-stream")}
        form = {"as_file": "true" if as_file else "false", "file_name": file_name}
        if caption:
            form["caption"] = caption
        if mime_type:
            form["mime_type"] = mime_type
        if date is not None:
            form["date"] = str(date)
        return await self._action(user_id, what, None, bot, files=files, data=form)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()
