"""The outbox's side of the typed store client: operation names, replay, and photo uploads.

Handlers and the outbox name an operation; only bot/store_endpoints.py knows the store's paths. The
store's answers are kept as plain JSON (the outbox row's `response`, a photo's verdict).
"""

from __future__ import annotations

from typing import Any

from bot.store_client import StoreClient
from bot.store_endpoints import ENDPOINTS
from contracts.evidence import EvidenceSource

UPLOAD_OP = "evidence_upload"
# Queued operations and the client endpoint each replays through (for reading older databases).
OP_ENDPOINTS = {
    "visit_events": "visit_events",
    "visit_finish": "finish_visit",
    "visit_cancel": "cancel_visit",
    "language": "set_language",
    "unreachable": "mark_unreachable",
    UPLOAD_OP: "upload_evidence",
}


def op_of(method: str, path: str) -> tuple[str, str | None] | None:
    """(operation, visit id) of a method and path queued by an older bot, or None when unknown."""
    parts = path.strip("/").split("/")
    for op, endpoint in OP_ENDPOINTS.items():
        m, template = ENDPOINTS[endpoint]
        want = template.strip("/").split("/")
        if m != method.upper() or len(want) != len(parts):
            continue
        target = None
        for w, p in zip(want, parts, strict=True):
            if w == "{visit_id}":
                target = p
            elif w != p:
                break
        else:
            return op, target
    return None


async def call(
    store: StoreClient, op: str, target: str | None, body: Any, telegram_user_id: int | None, key: str
) -> Any:
    """Replays one queued JSON write with its idempotency key; the answer as JSON."""
    answer = await store.call(op, body, key, telegram_user_id=telegram_user_id, visit_id=target)
    return answer.model_dump(mode="json")


async def upload_evidence(
    store: StoreClient,
    visit_id: str,
    body: dict[str, Any],
    blob: bytes,
    telegram_user_id: int,
    key: str,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Uploads one photo of a visit; the store's verdict as JSON."""
    evidence = await store.upload_evidence(
        telegram_user_id,
        visit_id,
        blob,
        idempotency_key=key,
        file_name=body.get("file_name") or "photo.jpg",
        mime=body.get("mime") or "image/jpeg",
        source=EvidenceSource(body["source"]),
        step_id=body.get("step_id"),
        forwarded=bool(body.get("forwarded")),
        sent_at=body.get("sent_at"),
        timeout=timeout,
    )
    return evidence.model_dump(mode="json")
