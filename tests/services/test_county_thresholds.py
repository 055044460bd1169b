"""County thresholds: settings, overridden per county by a profile, reach the register context."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import Session, select

from models.audit import AuditEvent
from models.user import Role
from services.config import Settings, SettingsError
from services.context import Actor
from services.register_context import register_context
from tests.factories import make_household, make_user


def test_a_county_profile_overrides_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "FEIJIAN_COUNTY_PROFILES", '{"150422": {"money_tolerance_yuan": 50, "panel_min_members": 15}}'
    )
    s = Settings(env="test")
    assert s.county_thresholds("150422")["money_tolerance_yuan"] == 50
    assert s.county_thresholds("150422")["panel_min_members"] == 15
    assert s.county_thresholds("150425")["money_tolerance_yuan"] == 30  # no profile: the settings
    bad = Settings(env="test", county_profiles={"150422": {"panel_size": 10}})
    with pytest.raises(SettingsError, match="panel_size"):
        bad.county_thresholds("150422")


def test_register_context_reads_the_household_and_audits_the_id_read(session: Session) -> None:
    user = make_user(session, "insC", Role.inspector)
    h = make_household(session, "LB-CTX", id_number="15042219800101042X", size=2, cadre_relative=True)
    h.last_review_date = date(2026, 1, 15)
    settings = Settings(env="test", county_profiles={h.county_code: {"review_cadence_months": 6}})
    ctx = register_context(session, Actor.of(user), h, settings, date(2026, 12, 4), compare_id=False)
    assert ctx["reg_id_last4"] is None
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "household.id_compare")).all()
    ctx = register_context(session, Actor.of(user), h, settings, date(2026, 12, 4))
    assert ctx["reg_id_last4"] == "042X" and ctx["reg_covered"] == 2 and ctx["reg_cadre_relative"] == "yes"
    assert ctx["reg_review_months"] == 11 and ctx["review_cadence_months"] == 6
    assert ctx["reg_amount"] == 560.0 and ctx["money_tolerance"] == 30.0
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "household.id_compare")).all()) == 1
