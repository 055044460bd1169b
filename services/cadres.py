"""Cadre-relatives registry (近亲属备案, 001, 004): declarations, the register match, the township table.

Social-assistance staff and village-committee cadres declare their near relatives. The match looks up
every declared relative, and every cadre, by keyed hash among household heads and members and among
applicants:

* a declared relative in an active dibao household: the household is registered (备案,
  `Household.cadre_relative`), which makes it a take-all unit of every draw;
* a cadre who is in an active dibao household themselves: the household is registered too, and the
  register's own relation data name the cadre's near relatives there (the head, and members whose
  relation to the head is a near one). Such a relative missing from the declaration is an
  undeclared relative: a finding (category `favour`, 人情保/关系保) for a supervisor to review,
  filed once per household;
* a declared relative or a cadre who applies: listed, for the separate registration of such
  applications (单独登记备案).
"""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from openpyxl import Workbook
from pydantic import ValidationError
from sqlmodel import Session, col, select

from contracts.cadres import CadreIn, CadreMatch, CadreOut, MatchReport, RelativeIn, RelativeOut, TownshipRow
from contracts.households import HouseholdStatus
from contracts.ledger import FindingReview, FindingSource
from contracts.residents import ApplicationOutcome
from contracts.vocab import FindingCategory, Severity
from models.application import Application
from models.cadre import Cadre, CadreRelative
from models.household import Household, HouseholdMember
from models.region import Region, RegionLevel
from models.types import utcnow
from models.user import Role
from models.visit import Finding
from services import audit
from services.access import missing
from services.cipher import get_cipher
from services.context import Actor
from services.errors import ValidationFailed
from services.ledger_export import escape_cell
from services.messages import translate
from services.pii import id_number_problem, mask_id, mask_name, normalize_id
from services.sheet import cell, rows_of

RULE_UNDECLARED = "cadre_relative_undeclared"
MAX_LIST = 500
HEAD = frozenset({"户主", "本人"})
# relations to the head that make a near relative (近亲属: spouse, parents, children, siblings,
# grandparents, grandchildren), in the spellings registers use
NEAR = frozenset(
    "配偶 妻 妻子 夫 丈夫 子 女 儿子 女儿 长子 次子 三子 长女 次女 三女 养子 养女 继子 继女 "
    "父 母 父亲 母亲 兄 弟 姐 妹 哥哥 弟弟 姐姐 妹妹 兄弟 姐妹 "
    "孙子 孙女 外孙子 外孙女 外孙 祖父 祖母 外祖父 外祖母 "
    # pair spellings of the household check form (父子: father and son, …)
    "父子 母子 父女 母女 祖孙 兄妹 姐弟 兄弟 姐妹".split()
)
IMPORT_ALIASES = {
    "cadre_name": ("干部姓名", "姓名", "cadre_name"),
    "cadre_id": ("干部身份证号", "身份证号", "身份证号码", "cadre_id_number", "cadre_id"),
    "unit": ("工作单位", "单位", "unit"),
    "post": ("职务", "岗位", "post"),
    "township": ("所属乡镇", "乡镇代码", "乡镇(街道)代码", "township", "township_code"),
    "relative_name": ("亲属姓名", "近亲属姓名", "relative_name"),
    "relative_id": ("亲属身份证号", "近亲属身份证号", "relative_id_number", "relative_id"),
    "relation": ("与干部关系", "关系", "称谓", "relation"),
}
IMPORT_REQUIRED = ("cadre_name", "cadre_id", "unit", "post", "township")
TABLE_COLUMNS = (
    "cadres_col_township",
    "cadres_col_cadres",
    "cadres_col_declared",
    "cadres_col_on_dibao",
    "cadres_col_registered",
    "cadres_col_cadres_on_dibao",
    "cadres_col_undeclared",
    "cadres_col_applying",
)


def _check_id(value: str) -> str:
    v = normalize_id(value)
    problem = id_number_problem(v)
    if problem:
        raise ValidationFailed(problem)
    return v


def _township(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None or region.level != RegionLevel.township:
        raise ValidationFailed("cadres_unknown_township", code=code)
    return region


def _find_cadre(session: Session, id_number: str) -> Cadre | None:
    hashes = get_cipher().lookup_hashes(id_number)
    return session.exec(select(Cadre).where(col(Cadre.id_hash).in_(hashes))).first()


def declare(session: Session, actor: Actor, data: CadreIn, audit_it: bool = True) -> Cadre:
    """Stores a declaration; a cadre's new declaration replaces the relatives of the last one."""
    actor.require(Role.supervisor)
    actor.require_scope(data.township_code, "近亲属备案")
    _township(session, data.township_code)
    cadre_id = _check_id(data.id_number)
    relatives = [(r, _check_id(r.id_number)) for r in data.relatives]
    if len({rid for _, rid in relatives} | {cadre_id}) != len(relatives) + 1:
        raise ValidationFailed("cadres_duplicate_relative")
    cipher = get_cipher()
    cadre = _find_cadre(session, cadre_id)
    if cadre is not None:
        actor.require_scope(cadre.township_code, "近亲属备案")
        for old in session.exec(select(CadreRelative).where(CadreRelative.cadre_id == cadre.id)).all():
            session.delete(old)
        session.flush()
    else:
        cadre = Cadre(
            name="", id_enc="", id_hash="", unit="", post="", township_code="", created_by=actor.label
        )
    now = utcnow()
    cadre.name = "".join(data.name.split())
    cadre.id_enc = cipher.encrypt(cadre_id) or ""
    cadre.id_hash = cipher.lookup_hash(cadre_id) or ""
    cadre.unit, cadre.post, cadre.township_code = data.unit.strip(), data.post.strip(), data.township_code
    cadre.declared_on = cadre.updated_at = now
    session.add(cadre)
    session.flush()
    for i, (r, rid) in enumerate(relatives):
        session.add(
            CadreRelative(
                cadre_id=cadre.id,
                name="".join(r.name.split()),
                id_enc=cipher.encrypt(rid) or "",
                id_hash=cipher.lookup_hash(rid) or "",
                relation=r.relation.strip(),
                position=i,
            )
        )
    session.flush()
    if audit_it:
        audit.record(session, actor, "cadre.declare", "cadre", cadre.id, relatives=len(relatives))
    return cadre


def _relatives_of(session: Session, cadre_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[CadreRelative]]:
    out: dict[uuid.UUID, list[CadreRelative]] = defaultdict(list)
    if not cadre_ids:
        return out
    for r in session.exec(
        select(CadreRelative)
        .where(col(CadreRelative.cadre_id).in_(list(cadre_ids)))
        .order_by(col(CadreRelative.position))
    ).all():
        out[r.cadre_id].append(r)
    return out


def _in_scope(session: Session, actor: Actor, region: str | None) -> list[Cadre]:
    actor.require(Role.supervisor)
    scope = actor.scope_code if actor.role != Role.admin else None
    if region:
        actor.require_scope(region, "近亲属备案")
        scope = region if not scope or len(region) >= len(scope) else scope
    q = select(Cadre).order_by(col(Cadre.township_code), col(Cadre.name), col(Cadre.id))
    if scope:
        # a cadre's township lies under a county scope; a village scope narrows to its township
        q = q.where(col(Cadre.township_code).startswith(scope[:9]))
    return list(session.exec(q).all())


def to_out(cadre: Cadre, relatives: Iterable[CadreRelative], households: dict[str, list[str]]) -> CadreOut:
    """A declaration as shown: names and ID numbers masked."""
    cipher = get_cipher()
    return CadreOut(
        id=cadre.id,
        name=mask_name(cadre.name) or "",
        id_number=mask_id(cipher.decrypt(cadre.id_enc)) or "",
        unit=cadre.unit,
        post=cadre.post,
        township_code=cadre.township_code,
        declared_on=cadre.declared_on,
        relatives=[
            RelativeOut(
                name=mask_name(r.name) or "",
                id_number=mask_id(cipher.decrypt(r.id_enc)) or "",
                relation=r.relation,
                households=households.get(r.id_hash, []),
            )
            for r in relatives
        ],
    )


def list_declarations(
    session: Session, actor: Actor, region: str | None = None, limit: int = 100
) -> list[CadreOut]:
    """Declarations in the actor's scope, with the dibao households each relative belongs to (audited)."""
    cadres = _in_scope(session, actor, region)[: min(max(limit, 1), MAX_LIST)]
    rels = _relatives_of(session, [c.id for c in cadres])
    hashes = {r.id_hash for rs in rels.values() for r in rs}
    found = _households_by_hash(session, hashes)
    households = {h: sorted({hh.register_no for hh, _ in hits}) for h, hits in found.items()}
    audit.record(session, actor, "cadre.list", "cadre", None, region=region, count=len(cadres))
    return [to_out(c, rels.get(c.id, []), households) for c in cadres]


def get_declaration(session: Session, actor: Actor, cadre_id: uuid.UUID) -> CadreOut:
    """One declaration in the actor's scope (audited)."""
    actor.require(Role.supervisor)
    cadre = session.get(Cadre, cadre_id)
    if cadre is None or not actor.sees(cadre.township_code):
        raise missing("cadre")
    rels = _relatives_of(session, [cadre.id]).get(cadre.id, [])
    found = _households_by_hash(session, {r.id_hash for r in rels})
    audit.record(session, actor, "cadre.read", "cadre", cadre.id)
    return to_out(cadre, rels, {h: sorted({hh.register_no for hh, _ in hits}) for h, hits in found.items()})


# ---- import ----------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """Declarations stored, their relatives, and the refused rows."""

    cadres: int = 0
    relatives: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)


# CadreIn's fields (and RelativeIn's under `relatives`) by the import column they come from
_FIELD_COLUMNS = {
    "name": "cadre_name",
    "id_number": "cadre_id",
    "unit": "unit",
    "post": "post",
    "township_code": "township",
}
_RELATIVE_COLUMNS = {"name": "relative_name", "id_number": "relative_id", "relation": "relation"}


def _column_of(loc: tuple[int | str, ...]) -> str:
    """The (Chinese) header of the column a validation error's location points at."""
    if loc and loc[0] == "relatives":
        key = _RELATIVE_COLUMNS.get(str(loc[-1]), "relative_id") if len(loc) > 2 else "relative_name"
    else:
        key = _FIELD_COLUMNS.get(str(loc[0]) if loc else "", "cadre_id")
    return IMPORT_ALIASES[key][0]


def _declaration(fields: Mapping[str, str], relatives: Iterable[Mapping[str, str]]) -> CadreIn:
    """A declaration from text cells (ID numbers normalised, a missing relation "—"); cells that break
    the contract's limits are one `cadres_bad_cells` refusal naming their columns."""
    rels: list[RelativeIn] = []
    bad: list[str] = []  # the columns whose cells broke the declaration's limits
    for r in relatives:
        try:
            rels.append(
                RelativeIn(
                    name=r.get("name", ""),
                    id_number=normalize_id(r.get("id_number", "")),
                    relation=r.get("relation", "") or "—",
                )
            )
        except ValidationError as exc:
            bad += [_column_of(("relatives", 0, *e["loc"])) for e in exc.errors()]
    try:
        data = CadreIn(
            name=fields.get("name", ""),
            id_number=normalize_id(fields.get("id_number", "")),
            unit=fields.get("unit", ""),
            post=fields.get("post", ""),
            township_code=fields.get("township_code", ""),
            relatives=rels,
        )
    except ValidationError as exc:
        bad += [_column_of(e["loc"]) for e in exc.errors()]
    if bad:
        raise ValidationFailed("cadres_bad_cells", columns="、".join(dict.fromkeys(bad)))
    return data


def declare_entered(
    session: Session, actor: Actor, fields: Mapping[str, str], relatives: Sequence[Mapping[str, str]]
) -> Cadre:
    """A declaration typed into a form (the console): the cadre's fields (name, id_number, unit, post,
    township_code) and the relatives' rows (name, id_number, relation; all-empty rows are skipped),
    checked as an import row is, then stored as `declare` does."""
    actor.require(Role.supervisor)
    given = [r for r in relatives if any(str(v).strip() for v in r.values())]
    return declare(session, actor, _declaration(fields, given))


def township_choices(session: Session, actor: Actor, limit: int = 500) -> list[tuple[str, str]]:
    """(code, name) of the townships in the actor's scope, for a declaration's township field."""
    actor.require(Role.supervisor)
    q = select(Region).where(Region.level == RegionLevel.township).order_by(col(Region.code)).limit(limit)
    scope = actor.scope_code if actor.role != Role.admin else None
    if scope:
        q = q.where(col(Region.code).startswith(scope))
    return [(r.code, r.name) for r in session.exec(q).all()]


def import_file(session: Session, actor: Actor, data: bytes, filename: str) -> ImportReport:
    """Declarations from a table, one row per relative (the cadre's columns repeated; a cadre with no
    relatives on one row with the relative's columns empty). Each cadre's rows replace their last
    declaration; a cadre with a bad row is refused whole, with every row named."""
    actor.require(Role.supervisor)
    cols, rows = rows_of(data, filename, IMPORT_ALIASES, IMPORT_REQUIRED)
    groups: dict[str, list[tuple[int, list[object]]]] = defaultdict(list)
    for line, row in rows:
        groups[normalize_id(cell(row, cols, "cadre_id"))].append((line, row))
    report = ImportReport()
    for lines in groups.values():
        first = lines[0][1]
        try:
            relatives = [
                {
                    "name": cell(row, cols, "relative_name"),
                    "id_number": cell(row, cols, "relative_id"),
                    "relation": cell(row, cols, "relation"),
                }
                for _line, row in lines
                if cell(row, cols, "relative_id") or cell(row, cols, "relative_name")
            ]
            data_in = _declaration(
                {
                    "name": cell(first, cols, "cadre_name"),
                    "id_number": cell(first, cols, "cadre_id"),
                    "unit": cell(first, cols, "unit"),
                    "post": cell(first, cols, "post"),
                    "township_code": cell(first, cols, "township"),
                },
                relatives,
            )
            with session.begin_nested():
                declare(session, actor, data_in, audit_it=False)
            report.cadres += 1
            report.relatives += len(relatives)
        except ValueError as exc:
            detail = str(exc).splitlines()[0][:200]
            for line, _ in lines:
                report.errors.append(
                    {
                        "row": line,
                        "code": "import_bad_row",
                        "message": translate("import_bad_row", actor.lang, detail=detail),
                    }
                )
        except ValidationFailed as exc:
            for line, _ in lines:
                report.errors.append({"row": line, "code": exc.code, "message": exc.message(actor.lang)})
    audit.record(
        session,
        actor,
        "cadre.import",
        "cadre",
        None,
        filename=filename[:200],
        cadres=report.cadres,
        relatives=report.relatives,
        refused=len(report.errors),
    )
    return report


# ---- the register match ----------------------------------------------------------------------------


def _households_by_hash(session: Session, hashes: set[str]) -> dict[str, list[tuple[Household, str]]]:
    """Active households holding each hash as head or member, with the person's relation to the head."""
    out: dict[str, list[tuple[Household, str]]] = defaultdict(list)
    if not hashes:
        return out
    wanted = list(hashes)
    active = Household.status == HouseholdStatus.active
    for h in session.exec(select(Household).where(col(Household.head_id_hash).in_(wanted), active)).all():
        assert h.head_id_hash is not None
        out[h.head_id_hash].append((h, "户主"))
    for m, h in session.exec(
        select(HouseholdMember, Household)
        .join(Household, col(Household.id) == col(HouseholdMember.household_id))
        .where(col(HouseholdMember.id_hash).in_(wanted), active)
    ).all():
        assert m.id_hash is not None
        if not any(x.id == h.id for x, _ in out[m.id_hash]):
            out[m.id_hash].append((h, m.relation))
    return out


def _people_of(session: Session, h: Household) -> list[tuple[str, str | None, str]]:
    """(name, ID hash, relation to the head) of the head and every member."""
    people: list[tuple[str, str | None, str]] = [(h.head_name, h.head_id_hash, "户主")]
    for m in session.exec(
        select(HouseholdMember)
        .where(HouseholdMember.household_id == h.id)
        .order_by(col(HouseholdMember.position))
    ).all():
        if m.id_hash is None or m.id_hash != h.head_id_hash:
            people.append((m.name, m.id_hash, m.relation))
    return people


def register_relatives(
    cadre_relation: str, people: Sequence[tuple[str, str | None, str]], cadre_hash: str
) -> list[tuple[str, str | None, str]]:
    """The cadre's near relatives in a household by its relation data: the head's near relatives when
    the cadre is the head; when the cadre is a near relative of the head, the head and the head's other
    near relatives (siblings, parents, children, spouse of a parent: an approximation that errs towards
    asking)."""
    if cadre_relation in HEAD:
        return [p for p in people if p[1] != cadre_hash and p[2] in NEAR]
    if cadre_relation not in NEAR:
        return []
    return [p for p in people if p[1] != cadre_hash and (p[2] in HEAD or p[2] in NEAR)]


@dataclass
class Scan:
    """What the register holds for the cadres in scope (read only)."""

    cadres: list[Cadre]
    declared: list[tuple[Cadre, CadreRelative, Household]] = field(default_factory=list)
    selves: list[tuple[Cadre, Household, str]] = field(default_factory=list)
    undeclared: list[tuple[Cadre, Household, str, str]] = field(default_factory=list)  # name, relation
    applying: list[tuple[Cadre, str, Application]] = field(default_factory=list)  # relation


def scan(session: Session, cadres: list[Cadre]) -> Scan:
    """Matches the cadres and their declared relatives against households and applications."""
    out = Scan(cadres)
    rels = _relatives_of(session, [c.id for c in cadres])
    hashes = {c.id_hash for c in cadres} | {r.id_hash for rs in rels.values() for r in rs}
    found = _households_by_hash(session, hashes)
    for c in cadres:
        declared = {r.id_hash for r in rels.get(c.id, [])}
        for r in rels.get(c.id, []):
            for h, _ in found.get(r.id_hash, []):
                out.declared.append((c, r, h))
        for h, relation in found.get(c.id_hash, []):
            out.selves.append((c, h, relation))
            for name, id_hash, rel in register_relatives(relation, _people_of(session, h), c.id_hash):
                if id_hash is None or id_hash not in declared:
                    out.undeclared.append((c, h, name, rel))
    if hashes:
        by_hash: dict[str, list[tuple[Cadre, str]]] = defaultdict(list)
        for c in cadres:
            by_hash[c.id_hash].append((c, "本人"))
            for r in rels.get(c.id, []):
                by_hash[r.id_hash].append((c, r.relation))
        for app in session.exec(
            select(Application).where(
                col(Application.id_hash).in_(list(hashes)),
                Application.outcome != ApplicationOutcome.refused,
            )
        ).all():
            for c, relation in by_hash.get(app.id_hash, []):
                out.applying.append((c, relation, app))
    return out


def _finding_for(
    session: Session, actor: Actor, c: Cadre, h: Household, name: str, relation: str
) -> tuple[Finding, bool]:
    """The household's open undeclared-relative finding, or a new one (filed once per household)."""
    existing = session.exec(
        select(Finding).where(
            Finding.household_id == h.id,
            Finding.rule_id == RULE_UNDECLARED,
            col(Finding.review) != FindingReview.dismissed,
        )
    ).first()
    if existing is not None:
        return existing, False
    params = {
        "cadre": mask_name(c.name) or "",
        "unit": c.unit,
        "relative": mask_name(name) or "",
        "relation": relation,
    }
    f = Finding(
        household_id=h.id,
        rule_id=RULE_UNDECLARED,
        category=FindingCategory.FAVOUR,
        severity=Severity.medium,
        message_zh=translate("cadres_undeclared_finding", "zh-CN", **params)[:1000],
        message_en=translate("cadres_undeclared_finding", "en", **params)[:1000],
        source=FindingSource.document,
        created_by=actor.label,
    )
    session.add(f)
    session.flush()
    return f, True


def match(session: Session, actor: Actor, region: str | None = None) -> MatchReport:
    """Runs the match for the cadres in scope: registers households, files undeclared-relative findings."""
    s = scan(session, _in_scope(session, actor, region))
    lines: list[CadreMatch] = []
    registered: set[uuid.UUID] = set()
    for c, r, h in s.declared:
        registered.add(h.id)
        lines.append(
            CadreMatch(
                kind="declared",
                cadre=mask_name(c.name) or "",
                township_code=c.township_code,
                relation=r.relation,
                register_no=h.register_no,
            )
        )
    for c, h, relation in s.selves:
        registered.add(h.id)
        lines.append(
            CadreMatch(
                kind="cadre_self",
                cadre=mask_name(c.name) or "",
                township_code=c.township_code,
                relation=relation,
                register_no=h.register_no,
            )
        )
    newly = 0
    for hid in sorted(registered):
        hh = session.get(Household, hid)
        assert hh is not None
        if not hh.cadre_relative:
            hh.cadre_relative = True
            hh.updated_at = utcnow()
            session.add(hh)
            newly += 1
            audit.record(session, actor, "cadre.register_household", "household", hh.id)
    new_findings = 0
    for c, h, name, relation in s.undeclared:
        f, new = _finding_for(session, actor, c, h, name, relation)
        new_findings += new
        lines.append(
            CadreMatch(
                kind="undeclared",
                cadre=mask_name(c.name) or "",
                township_code=c.township_code,
                relation=relation,
                register_no=h.register_no,
                finding_id=f.id,
            )
        )
    for c, relation, app in s.applying:
        lines.append(
            CadreMatch(
                kind="application",
                cadre=mask_name(c.name) or "",
                township_code=c.township_code,
                relation=relation,
                application_number=app.number,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "cadre.match",
        "cadre",
        None,
        region=region,
        cadres=len(s.cadres),
        newly_registered=newly,
        new_findings=new_findings,
    )
    return MatchReport(
        cadres=len(s.cadres),
        declared_beneficiaries=len(s.declared),
        newly_registered=newly,
        cadres_in_register=len(s.selves),
        undeclared=len(s.undeclared),
        new_findings=new_findings,
        applications=len(s.applying),
        matches=lines,
    )


# ---- the township statistics table ------------------------------------------------------------------


def township_table(session: Session, actor: Actor, region: str | None = None) -> list[TownshipRow]:
    """Per township: cadres, declared relatives, relatives on dibao, registered households, … (audited)."""
    cadres = _in_scope(session, actor, region)
    s = scan(session, cadres)
    rels = _relatives_of(session, [c.id for c in cadres])
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for c in cadres:
        counts[c.township_code]["cadres"] += 1
        counts[c.township_code]["declared_relatives"] += len(rels.get(c.id, []))
    for key, people in (
        ("relatives_on_dibao", {(c.township_code, r.id) for c, r, _ in s.declared}),
        ("cadres_on_dibao", {(c.township_code, c.id) for c, _, _ in s.selves}),
        ("undeclared_relatives", {(c.township_code, h.id, n) for c, h, n, _ in s.undeclared}),
        ("relatives_applying", {(c.township_code, a.id) for c, _, a in s.applying}),
    ):
        for item in people:
            counts[item[0]][key] += 1
    scope = actor.scope_code if actor.role != Role.admin else None
    flagged = select(Household.township_code, col(Household.id)).where(
        col(Household.cadre_relative).is_(True), Household.status == HouseholdStatus.active
    )
    prefix = region or scope
    if prefix:
        flagged = flagged.where(col(Household.village_code).startswith(prefix))
    for town, _hid in session.exec(flagged).all():
        counts[town]["registered_households"] += 1
    names = {
        r.code: r.name for r in session.exec(select(Region).where(col(Region.code).in_(list(counts)))).all()
    }
    audit.record(session, actor, "cadre.table", "cadre", None, region=region)
    return [
        TownshipRow(
            township_code=code,
            township_name=names.get(code, code),
            cadres=counts[code]["cadres"],
            declared_relatives=counts[code]["declared_relatives"],
            relatives_on_dibao=counts[code]["relatives_on_dibao"],
            registered_households=counts[code]["registered_households"],
            cadres_on_dibao=counts[code]["cadres_on_dibao"],
            undeclared_relatives=counts[code]["undeclared_relatives"],
            relatives_applying=counts[code]["relatives_applying"],
        )
        for code in sorted(counts)
    ]


def table_xlsx(rows: Sequence[TownshipRow], lang: str | None = "zh-CN") -> bytes:
    """The township statistics table (统计表) as an XLSX workbook, with a total line."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = translate("cadres_sheet_title", lang)[:31]
    ws.append([translate(c, lang) for c in TABLE_COLUMNS])
    fields = (
        "cadres",
        "declared_relatives",
        "relatives_on_dibao",
        "registered_households",
        "cadres_on_dibao",
        "undeclared_relatives",
        "relatives_applying",
    )
    for r in rows:
        ws.append([escape_cell(f"{r.township_name} ({r.township_code})"), *(getattr(r, f) for f in fields)])
    ws.append([translate("cadres_total", lang), *(sum(getattr(r, f) for r in rows) for f in fields)])
    ws.column_dimensions["A"].width = 36
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
