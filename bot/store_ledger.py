"""The ledger endpoints of the store as the bot calls them: an officer's items, a fix, verify, return.

Kept beside `StoreClient` (whose table of paths, bot/store_endpoints.py, names these endpoints) so that
the client module stays small; the calls go through its typed transport.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from bot.store_client import StoreClient
from bot.store_endpoints import parse, path_of, request_body
from contracts.evidence import EvidencePublic, EvidenceSource
from contracts.ledger import (
    OPEN_STATES,
    FixIn,
    LedgerItemDetail,
    LedgerItemOut,
    LedgerPage,
    LedgerState,
    ReturnIn,
    VerifyIn,
)

__all__ = ["fix_evidence", "item", "my_open_items", "return_fix", "submit_fix", "upload_evidence", "verify"]

# The states an officer still has work in, and the one waiting for the supervisor.
SHOWN = OPEN_STATES | {LedgerState.fix_submitted}


async def my_open_items(store: StoreClient, telegram_user_id: int, store_user_id: str) -> list[LedgerItemOut]:
    """The items the user answers for that are not closed, earliest deadline first."""
    items: list[LedgerItemOut] = []
    cursor: str | None = None
    for _ in range(20):  # at most 20 pages of 100: an officer never holds more open items
        params: dict[str, object] = {"responsible_user_id": store_user_id, "limit": 100}
        if cursor:
            params["cursor"] = cursor
        data = await store._request("ledger_items", telegram_user_id=telegram_user_id, params=params)
        page = parse(LedgerPage, data)
        items += [i for i in page.items if i.state in SHOWN]
        cursor = page.next_cursor
        if not cursor:
            break
    return items


async def item(store: StoreClient, telegram_user_id: int, item_id: str | uuid.UUID) -> LedgerItemDetail:
    """One item with its history (404 StoreError when the user may not see it)."""
    return await store._call(
        "ledger_item", LedgerItemDetail, telegram_user_id=telegram_user_id, item_id=item_id
    )


async def submit_fix(
    store: StoreClient, telegram_user_id: int, item_id: str, body: dict[str, object], idempotency_key: str
) -> LedgerItemOut:
    """The fix: what was done, its outcome and evidence (→ fix_submitted)."""
    return await store._call(
        "ledger_submit_fix",
        LedgerItemOut,
        body=request_body(FixIn, body),
        telegram_user_id=telegram_user_id,
        idempotency_key=idempotency_key,
        item_id=item_id,
    )


async def upload_evidence(
    store: StoreClient,
    telegram_user_id: int,
    item_id: str,
    content: bytes,
    *,
    idempotency_key: str,
    file_name: str = "photo.jpg",
    mime: str = "image/jpeg",
    source: EvidenceSource = EvidenceSource.TELEGRAM_PHOTO,
    sent_at: str | None = None,
    timeout: float | None = None,
) -> EvidencePublic:
    """Uploads one photo of a fix to the item (the store runs the evidence pipeline on it)."""
    form = {"source": source.value, "forwarded": "false"}
    if sent_at:
        form["sent_at"] = sent_at
    data = await store._upload(
        path_of("ledger_upload_evidence", item_id=item_id),
        files={"file": (file_name, content, mime)},
        data=form,
        telegram_user_id=telegram_user_id,
        idempotency_key=idempotency_key,
        timeout=timeout,
    )
    return parse(EvidencePublic, data)


def fix_evidence(detail: LedgerItemDetail) -> list[str]:
    """The evidence ids of the latest submitted fix (what a verify from the notice rests on)."""
    for ev in reversed(detail.history):
        if ev.action == "submit_fix":
            return [e for e in ev.evidence_ids if not e.startswith("visit:")]
    return []


async def verify(
    store: StoreClient,
    telegram_user_id: int,
    item_id: str,
    version: int | None,
    evidence_ids: Sequence[str],
    idempotency_key: str,
) -> LedgerItemOut:
    """对账销号 on the fix's evidence, refused (409) unless the item is still at `version`."""
    body = request_body(VerifyIn, {"version": version, "evidence_ids": list(evidence_ids)})
    return await store._call(
        "ledger_verify",
        LedgerItemOut,
        body=body,
        telegram_user_id=telegram_user_id,
        idempotency_key=idempotency_key,
        item_id=item_id,
    )


async def return_fix(
    store: StoreClient,
    telegram_user_id: int,
    item_id: str,
    version: int | None,
    reason: str,
    idempotency_key: str,
) -> LedgerItemOut:
    """重新整改: back to the officer with the reason."""
    return await store._call(
        "ledger_return",
        LedgerItemOut,
        body=request_body(ReturnIn, {"reason": reason, "version": version}),
        telegram_user_id=telegram_user_id,
        idempotency_key=idempotency_key,
        item_id=item_id,
    )
