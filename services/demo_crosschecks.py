"""The demo's monthly death-record file (殡葬死亡数据): a few real matches, so that the cross-check's
findings and ledger items appear, plus people not on the register and one row with a wrong ID number.

Two beneficiaries (heads of household) who died three months before the file's month (paid after
death: findings on the ledger with the months and the amount), and another member of a larger
household (household size changed: a finding for review). The file is also written out, so it can be imported
again by hand (`feijian crosscheck deaths FILE --month YYYY-MM`), which adds nothing the second time.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from models.household import Household, HouseholdMember, HouseholdStatus
from models.ledger import LedgerItem
from models.user import User
from services import crosschecks
from services.cipher import get_cipher
from services.context import Actor
from services.pii import id_check_char

_HEADS = ("户主", "本人", "申请人")


@dataclass
class DemoCrosschecks:
    """What the demo's death file found."""

    month: str
    rows: int
    matched: int
    findings: int
    ledger_items: int
    errors: int
    path: Path | None


def _month_before(today: date, months: int) -> date:
    n = today.year * 12 + today.month - 1 - months
    return date(n // 12, n % 12 + 1, 1)


def death_file(session: Session, today: date) -> tuple[str, bytes]:
    """The month (last month) and the file: two beneficiaries, one member of a larger household, three
    people not on the register, one wrong ID number. Deterministic for one register."""
    month_day = _month_before(today, 1)
    month = f"{month_day.year}-{month_day.month:02d}"
    died = _month_before(today, 4) + timedelta(days=9)
    on_ledger = select(LedgerItem.household_id)
    active = (
        select(Household)
        .where(Household.status == HouseholdStatus.active, col(Household.id).not_in(on_ledger))
        .order_by(col(Household.register_no))
    )
    cipher = get_cipher()
    people: list[tuple[str, str]] = []
    for h in session.exec(active.limit(2)).all():
        idn = cipher.decrypt(h.head_id_enc)
        if idn:
            people.append((h.head_name, idn))
    family = session.exec(
        select(HouseholdMember)
        .join(Household, col(Household.id) == col(HouseholdMember.household_id))
        .where(
            Household.status == HouseholdStatus.active,
            Household.size >= 3,
            col(Household.id).not_in(on_ledger),
            col(Household.id).not_in([h.id for h in session.exec(active.limit(2)).all()]),
            col(HouseholdMember.relation).not_in(_HEADS),
            col(HouseholdMember.id_enc).is_not(None),
        )
        .order_by(col(Household.register_no))
        .limit(1)
    ).first()
    if family is not None:
        idn = cipher.decrypt(family.id_enc)
        if idn:
            people.append((family.name, idn))
    rng = random.Random(f"deaths-{month}")
    for _ in range(3):  # not on the register: another county's code
        born = date(rng.randint(1930, 1950), rng.randint(1, 12), rng.randint(1, 28))
        first17 = f"150423{born:%Y%m%d}{rng.randint(0, 999):03d}"
        people.append(("外县居民", first17 + id_check_char(first17)))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["姓名", "身份证号", "死亡日期", "数据来源"])
    for name, idn in people:
        w.writerow([name, idn, died.isoformat(), "县殡仪馆"])
    w.writerow(["号码有误", "150423194001010000", died.isoformat(), "县殡仪馆"])  # wrong check digit
    return month, out.getvalue().encode("gb18030")


def seed(session: Session, today: date, out_dir: Path | None = None) -> DemoCrosschecks:
    """Imports last month's demo death file as the first supervisor (and writes the file to out_dir)."""
    month, data = death_file(session, today)
    path = None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"deaths-{month}.csv"
        path.write_bytes(data)
    sup = session.exec(select(User).where(User.login == "sup1")).first()
    actor = Actor.of(sup) if sup is not None else Actor.system("demo")
    report = crosschecks.import_deaths(session, actor, data, f"deaths-{month}.csv", month, today=today)
    return DemoCrosschecks(
        month, report.rows, report.new_matches, report.findings, report.ledger_items, len(report.errors), path
    )
