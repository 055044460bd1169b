"""The store's resident endpoints as the bot calls them (mixed into `StoreClient`, which keeps its size)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import TypeAdapter

from bot.store_endpoints import parse, parse_list, path_of, request_body
from contracts.cases import CaseRating
from contracts.residents import CaseCategory, CaseCreated, CasePublic, PhoneLookup, ResidentOverview

_CASES = TypeAdapter(list[CasePublic])


class ResidentCalls:
    """A resident's own applications and cases; the bot acts as itself (no bound user behind it)."""

    _request: Callable[..., Awaitable[Any]]
    _upload: Callable[..., Awaitable[Any]]

    async def resident_lookup(self, telegram_user_id: int, phone: str, language: str) -> ResidentOverview:
        """Applications matching the sender's own phone (checked by the caller), and their cases."""
        body = request_body(
            PhoneLookup, {"telegram_user_id": telegram_user_id, "phone": phone, "language": language}
        )
        data = await self._request("resident_lookup", json=body.model_dump(mode="json"))
        return parse(ResidentOverview, data)

    async def resident_cases(self, telegram_user_id: int, language: str) -> list[CasePublic]:
        """The cases this Telegram account sent."""
        params = {"telegram_user_id": telegram_user_id, "language": language}
        return parse_list(_CASES, await self._request("resident_cases", params=params))

    async def resident_rate(
        self, telegram_user_id: int, number: str, score: int, language: str
    ) -> CasePublic:
        """The resident's satisfaction with their closed case (the store accepts it once)."""
        body = request_body(
            CaseRating,
            {"telegram_user_id": telegram_user_id, "number": number, "score": score, "language": language},
        )
        return parse(CasePublic, await self._request("resident_rate", json=body.model_dump(mode="json")))

    async def resident_complain(
        self,
        telegram_user_id: int,
        text: str,
        anonymous: bool,
        photos: Sequence[bytes],
        language: str,
        category: CaseCategory = CaseCategory.other,
        idempotency_key: str | None = None,
    ) -> CaseCreated:
        """Sends a complaint (with its photos) and returns the new case's number and follow-up code."""
        form = {
            "telegram_user_id": str(telegram_user_id),
            "text": text,
            "anonymous": "true" if anonymous else "false",
            "category": category.value,
            "language": language,
        }
        files = [("photos", (f"photo{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
        data = await self._upload(
            path_of("resident_complain"), files=files, data=form, idempotency_key=idempotency_key
        )
        return parse(CaseCreated, data)
