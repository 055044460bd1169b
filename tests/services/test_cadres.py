"""Cadre-relatives registry: declarations, the register match (registered, undeclared), the table, imports."""

from __future__ import annotations

import io
import random

import pytest
from openpyxl import load_workbook
from sqlmodel import Session, select

from contracts.cadres import CadreIn, RelativeIn
from contracts.residents import ApplicationCreate
from contracts.vocab import FindingCategory
from models.audit import AuditEvent
from models.cadre import Cadre, CadreRelative
from models.household import Household, HouseholdMember
from models.user import Role
from models.visit import Finding
from services import applications, cadres
from services.cipher import get_cipher
from services.context import Actor
from services.errors import Forbidden, ValidationFailed
from tests.factories import VILLAGE, ensure_regions, make_household, make_id, make_user

TOWN = VILLAGE[:9]


def _sup(session: Session, scope: str = VILLAGE[:6], login: str = "sup-c") -> Actor:
    ensure_regions(session)
    return Actor.of(make_user(session, login, Role.supervisor, scope_code=scope))


def _member(session: Session, h: Household, name: str, relation: str, idn: str) -> None:
    cipher = get_cipher()
    session.add(
        HouseholdMember(
            household_id=h.id,
            name=name,
            relation=relation,
            id_enc=cipher.encrypt(idn),
            id_hash=cipher.lookup_hash(idn),
            position=5,
        )
    )
    session.flush()


def _declaration(cadre_id: str, *relatives: tuple[str, str, str]) -> CadreIn:
    return CadreIn(
        name="王 干部",
        id_number=cadre_id,
        unit="林东镇人民政府",
        post="民政助理",
        township_code=TOWN,
        relatives=[RelativeIn(name=n, id_number=i, relation=r) for n, i, r in relatives],
    )


def test_declared_relative_on_dibao_is_registered_once(session: Session) -> None:
    """A declared relative heading a dibao household: the household is registered (take-all in draws)."""
    rng = random.Random(1)
    sup = _sup(session)
    brother = make_id(rng)
    h = make_household(session, "LBC01", id_number=brother)
    cadre = cadres.declare(session, sup, _declaration(make_id(rng), ("王兄", brother, "兄")))
    stored = session.exec(select(Cadre).where(Cadre.id == cadre.id)).one()
    assert stored.id_enc and stored.id_hash and stored.name == "王干部"
    rel = session.exec(select(CadreRelative).where(CadreRelative.cadre_id == cadre.id)).one()
    assert rel.id_hash == get_cipher().lookup_hash(brother) and brother not in rel.id_enc
    report = cadres.match(session, sup)
    assert (report.declared_beneficiaries, report.newly_registered, report.undeclared) == (1, 1, 0)
    assert report.matches[0].kind == "declared" and report.matches[0].register_no == "LBC01"
    session.refresh(h)
    assert h.cadre_relative is True
    again = cadres.match(session, sup)
    assert again.newly_registered == 0 and again.declared_beneficiaries == 1
    out = cadres.list_declarations(session, sup)
    assert out[0].relatives[0].households == ["LBC01"]
    assert out[0].relatives[0].id_number.count("*") == 8 and out[0].name == "王**"


def test_undeclared_relative_from_the_register_is_a_finding(session: Session) -> None:
    """The cadre is a son in a dibao household; the declaration names the father, not the mother."""
    rng = random.Random(2)
    sup = _sup(session)
    father, mother, cadre_id = make_id(rng), make_id(rng), make_id(rng)
    h = make_household(session, "LBC02", id_number=father, head_name="王父")
    _member(session, h, "李母", "配偶", mother)
    _member(session, h, "王干部", "子", cadre_id)
    cadres.declare(session, sup, _declaration(cadre_id, ("王父", father, "父亲")))
    report = cadres.match(session, sup)
    assert report.cadres_in_register == 1 and report.undeclared == 1 and report.new_findings == 1
    f = session.exec(select(Finding).where(Finding.rule_id == cadres.RULE_UNDECLARED)).one()
    assert f.household_id == h.id and f.category == FindingCategory.FAVOUR
    assert "李*" in f.message_zh and "李母" not in f.message_zh and "declaration" in f.message_en
    again = cadres.match(session, sup)
    assert again.undeclared == 1 and again.new_findings == 0
    assert session.exec(select(Finding).where(Finding.rule_id == cadres.RULE_UNDECLARED)).all() == [f]
    session.refresh(h)
    assert h.cadre_relative is True


def test_declaring_everyone_leaves_no_finding(session: Session) -> None:
    """A cadre heading a dibao household who declared spouse and child: registered, nothing undeclared."""
    rng = random.Random(3)
    sup = _sup(session)
    cadre_id, spouse, child, in_law = make_id(rng), make_id(rng), make_id(rng), make_id(rng)
    h = make_household(session, "LBC03", id_number=cadre_id)
    _member(session, h, "配偶甲", "配偶", spouse)
    _member(session, h, "孩子乙", "子", child)
    _member(session, h, "亲家丙", "其他", in_law)  # not a near relation: never asked about
    cadres.declare(session, sup, _declaration(cadre_id, ("配偶甲", spouse, "配偶"), ("孩子乙", child, "子")))
    report = cadres.match(session, sup)
    assert report.undeclared == 0 and report.cadres_in_register == 1 and report.declared_beneficiaries == 2


def test_applications_of_relatives_are_listed_and_the_table_counts(session: Session) -> None:
    """A declared relative applying is listed; the township table counts every kind; XLSX has the total."""
    rng = random.Random(4)
    sup = _sup(session)
    sister, other = make_id(rng), make_id(rng)
    make_household(session, "LBC04", id_number=other)
    applications.create(
        session, sup, ApplicationCreate(applicant_name="王妹", id_number=sister, village_code=VILLAGE)
    )
    cadres.declare(session, sup, _declaration(make_id(rng), ("王妹", sister, "妹"), ("王某", other, "兄")))
    report = cadres.match(session, sup)
    assert [m.kind for m in report.matches].count("application") == 1
    rows = cadres.township_table(session, sup)
    assert len(rows) == 1
    row = rows[0]
    assert (row.cadres, row.declared_relatives, row.relatives_on_dibao, row.relatives_applying) == (
        1,
        2,
        1,
        1,
    )
    assert row.registered_households == 1
    wb = load_workbook(io.BytesIO(cadres.table_xlsx(rows, "zh-CN")))
    ws = wb.active
    assert ws is not None
    values = list(ws.iter_rows(values_only=True))
    assert values[0][0] == "乡镇（街道）" and values[-1][0] == "合计" and values[-1][1] == 1
    en = load_workbook(io.BytesIO(cadres.table_xlsx(rows, "en"))).active
    assert en is not None and en["A1"].value == "Township"
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "cadre.table")).first() is not None


def test_redeclaring_replaces_the_relatives_and_checks_ids(session: Session) -> None:
    """A second declaration replaces the list; bad ID numbers, duplicates and foreign scopes are refused."""
    rng = random.Random(5)
    sup = _sup(session)
    cadre_id, a, b = make_id(rng), make_id(rng), make_id(rng)
    first = cadres.declare(session, sup, _declaration(cadre_id, ("甲", a, "子")))
    second = cadres.declare(session, sup, _declaration(cadre_id, ("乙", b, "女")))
    assert first.id == second.id
    rels = session.exec(select(CadreRelative).where(CadreRelative.cadre_id == first.id)).all()
    assert [r.name for r in rels] == ["乙"]
    with pytest.raises(ValidationFailed):
        cadres.declare(
            session, sup, _declaration(cadre_id, ("甲", a[:17] + ("0" if a[17] != "0" else "1"), "子"))
        )
    with pytest.raises(ValidationFailed):
        cadres.declare(session, sup, _declaration(cadre_id, ("甲", a, "子"), ("甲", a, "子")))
    other = _sup(session, scope="150423", login="sup-other")
    with pytest.raises(Forbidden):
        cadres.declare(session, other, _declaration(make_id(rng)))
    assert cadres.list_declarations(session, other) == []


def test_import_groups_rows_by_cadre_and_reports_bad_ones(session: Session) -> None:
    """One row per relative; a cadre with a bad row is refused whole with its rows named."""
    rng = random.Random(6)
    sup = _sup(session)
    c1, c2, r1, r2 = make_id(rng), make_id(rng), make_id(rng), make_id(rng)
    csv = (
        "干部姓名,干部身份证号,工作单位,职务,所属乡镇,亲属姓名,亲属身份证号,与干部关系\n"
        f"张干部,{c1},林东镇政府,民政助理,{TOWN},张父,{r1},父亲\n"
        f"张干部,{c1},林东镇政府,民政助理,{TOWN},张母,{r2},母亲\n"
        f"李干部,{c2},镇内村委会,主任,{TOWN},李子,12345,子\n"
    ).encode("gb18030")
    report = cadres.import_file(session, sup, csv, "cadres.csv")
    assert (report.cadres, report.relatives) == (1, 2)
    assert [e["row"] for e in report.errors] == [4]
    with pytest.raises(ValidationFailed):
        cadres.import_file(session, sup, "姓名,单位\n张,x\n".encode(), "x.csv")


def test_demo_declarations_register_and_find(session: Session) -> None:
    """The demo declares cadres per township, registers relatives' households, finds an undeclared one."""
    from services import demo_cadres
    from tests.round_helpers import populate

    populate(session, per_village=3)
    report = demo_cadres.seed(session)
    assert report is not None and report.cadres == 12
    assert report.registered >= 4 and report.undeclared >= 4
    assert demo_cadres.seed(session) is None
