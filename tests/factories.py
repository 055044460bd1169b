"""Builders for test data (valid ID numbers, regions, households, users)."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

from sqlmodel import Session

from models.household import Datum, Household, HouseholdMember, SubsidyType, Tier
from models.region import LEVEL_BY_LENGTH, Region, parent_of
from models.user import Role, User
from services.auth import hash_password
from services.cipher import get_cipher
from services.pii import id_check_char

VILLAGE = "150422100200"  # 巴林左旗 林东镇 镇内 (2018 code list)


def make_id(rng: random.Random | None = None, region: str = "150422", born: date | None = None) -> str:
    """A valid 18-digit resident ID number."""
    rng = rng or random.Random()
    born = born or date(rng.randint(1940, 2005), rng.randint(1, 12), rng.randint(1, 28))
    first17 = f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)


def ensure_regions(session: Session, village: str = VILLAGE) -> None:
    """Creates the chain of regions above (and including) a village code."""
    code: str | None = village
    chain = []
    while code:
        chain.append(code)
        code = parent_of(code)
    for c in reversed(chain):
        if session.get(Region, c) is None:
            session.add(
                Region(code=c, name=f"区划{c}", level=LEVEL_BY_LENGTH[len(c)], parent_code=parent_of(c))
            )
    session.flush()


def make_household(
    session: Session,
    register_no: str = "LB0001",
    village: str = VILLAGE,
    id_number: str | None = None,
    phone: str | None = "13812345678",
    **kw: object,
) -> Household:
    """A household with its head as the first member."""
    ensure_regions(session, village)
    cipher = get_cipher()
    idn = id_number or make_id(random.Random(register_no))
    h = Household(
        register_no=register_no,
        head_name=str(kw.pop("head_name", "张三")),
        head_id_enc=cipher.encrypt(idn),
        head_id_hash=cipher.lookup_hash(idn),
        phone_enc=cipher.encrypt(phone),
        phone_hash=cipher.lookup_hash(phone),
        village_code=village,
        township_code=village[:9],
        county_code=village[:6],
        lat=43.98,
        lon=119.38,
        datum=Datum.wgs84,
        tier=Tier.ordinary,
        subsidy_type=SubsidyType.regular,
        monthly_amount=Decimal("560.00"),
        start_date=date(2024, 1, 1),
        **kw,  # type: ignore[arg-type]
    )
    session.add(h)
    session.flush()
    session.add(
        HouseholdMember(
            household_id=h.id,
            name=h.head_name,
            relation="户主",
            id_enc=cipher.encrypt(idn),
            id_hash=cipher.lookup_hash(idn),
        )
    )
    session.flush()
    return h


def make_user(
    session: Session, login: str, role: Role = Role.inspector, password: str = "secret-pass-1", **kw: object
) -> User:
    """A staff account with a password."""
    u = User(login=login, name=login, role=role, password_hash=hash_password(password), **kw)  # type: ignore[arg-type]
    session.add(u)
    session.flush()
    return u
