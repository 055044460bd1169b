"""Every store call of the bot that the store client has no typed method for yet, in one place.

Handlers and the outbox name an operation; only this module (and bot/store_client.py) knows the
store's paths. The outbox replays a queued write by its operation name through `call`.
"""

from __future__ import annotations

from typing import Any

from bot.store_client import Assignment, StoreClient

# Queued writes: operation -> (method, path template); `{target}` is the row's resource id.
OPS: dict[str, tuple[str, str]] = {
    "visit_events": ("POST", "/visits/{target}/events"),
    "visit_finish": ("POST", "/visits/{target}/finish"),
    "visit_cancel": ("POST", "/visits/{target}/cancel"),
    "language": ("PUT", "/telegram/me/language"),
    "unreachable": ("POST", "/telegram/unreachable"),
}
UPLOAD_OP = "evidence_upload"
UPLOAD_PATH = "/visits/{target}/evidence"


def op_of(method: str, path: str) -> tuple[str, str | None] | None:
    """(operation, target) of a method and path written by an older bot, or None when unknown."""
    parts = path.strip("/").split("/")
    for op, (m, template) in {**OPS, UPLOAD_OP: ("POST", UPLOAD_PATH)}.items():
        want = template.strip("/").split("/")
        if m != method.upper() or len(want) != len(parts):
            continue
        target = None
        for w, p in zip(want, parts, strict=True):
            if w == "{target}":
                target = p
            elif w != p:
                break
        else:
            return op, target
    return None


async def call(
    store: StoreClient, op: str, target: str | None, body: Any, telegram_user_id: int | None, key: str
) -> Any:
    """Replays one queued JSON write with its idempotency key."""
    method, template = OPS[op]
    return await store.request(
        method,
        template.format(target=target),
        telegram_user_id=telegram_user_id,
        json=body,
        idempotency_key=key,
    )


def upload_form(body: dict[str, Any]) -> dict[str, str]:
    """The multipart form fields of an evidence upload."""
    form = {"source": str(body["source"]), "forwarded": "true" if body.get("forwarded") else "false"}
    if body.get("step_id"):
        form["step_id"] = str(body["step_id"])
    return form


async def upload_evidence(
    store: StoreClient,
    visit_id: str,
    body: dict[str, Any],
    blob: bytes,
    telegram_user_id: int,
    key: str,
    timeout: float | None = None,
) -> Any:
    """Uploads one photo of a visit; the store's verdict (EvidencePublic JSON)."""
    name = body.get("file_name") or "photo.jpg"
    mime = body.get("mime") or "image/jpeg"
    return await store.upload(
        UPLOAD_PATH.format(target=visit_id),
        files={"file": (name, blob, mime)},
        data=upload_form(body),
        telegram_user_id=telegram_user_id,
        idempotency_key=key,
        timeout=timeout,
    )


async def assignment(store: StoreClient, telegram_user_id: int, assignment_id: str) -> Assignment:
    """One of the inspector's assignments."""
    data = await store.request("GET", f"/me/assignments/{assignment_id}", telegram_user_id=telegram_user_id)
    return Assignment.of(data)


async def start_visit(
    store: StoreClient, telegram_user_id: int, assignment_id: str, key: str
) -> dict[str, Any]:
    """Starts (or joins) the visit of an assignment."""
    data = await store.request(
        "POST",
        "/visits",
        telegram_user_id=telegram_user_id,
        json={"assignment_id": assignment_id},
        idempotency_key=key,
    )
    return dict(data)
