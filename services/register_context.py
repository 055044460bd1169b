"""What the store compares a visit's answers with: the register and the county's thresholds.

The inspector records only what is seen or told on site; the checklist's rules read these values
(`context` in the YAML) when the store replays the answers. The head's ID number is decrypted only
to compare its last four characters, and that read is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session

from models.household import Household
from services import audit
from services.cipher import keyring_from
from services.config import Settings
from services.context import Actor


def _months_since(day: date | None, today: date) -> int | None:
    if day is None:
        return None
    return max(0, (today.year - day.year) * 12 + today.month - day.month)


def register_context(
    session: Session,
    actor: Actor,
    household: Household,
    settings: Settings,
    today: date,
    *,
    compare_id: bool = True,
) -> dict[str, Any]:
    """The context names home_visit declares, from the household's register row and the county."""
    county = settings.county_thresholds(household.county_code)
    last4: str | None = None
    if compare_id and household.head_id_enc:
        plain = keyring_from(settings).decrypt(household.head_id_enc)
        last4 = plain[-4:].upper() if plain else None
        audit.record(session, actor, "household.id_compare", "household", household.id, fields="head_id")
    return {
        "reg_covered": household.size,
        "reg_amount": float(household.monthly_amount),
        "reg_cadre_relative": "yes" if household.cadre_relative else "no",
        "reg_id_last4": last4,
        "reg_review_months": _months_since(household.last_review_date, today),
        "review_cadence_months": int(county["review_cadence_months"]),
        "money_tolerance": county["money_tolerance_yuan"],
        "vehicle_value_limit": county["vehicle_value_limit_yuan"],
        "local_standard": county["local_standard_yuan"],
        "panel_min_members": int(county["panel_min_members"]),
        "panel_quorum_num": int(county["panel_quorum_num"]),
        "panel_quorum_den": int(county["panel_quorum_den"]),
    }
