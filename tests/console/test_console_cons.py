"""Console: ordering a recheck visit from a ledger item's page, and entering a cadre declaration."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

from sqlmodel import Session, col, select

from contracts.ledger import FixIn, LedgerState, RecheckIn
from models.audit import AuditEvent
from models.cadre import Cadre, CadreRelative
from models.ledger import LedgerEvent, LedgerItem
from models.round import Assignment, RoundTeam
from models.user import Role, User
from models.visit import Visit, VisitStatus
from services import findings_review, ledger
from services.rounds import local_today
from tests.conftest import auth_headers
from tests.console.test_console_pages import C, _csrf, _key, login
from tests.factories import VILLAGE, ensure_regions, make_household, make_id, make_user
from tests.ledger_helpers import Cast, cast, finding
from tests.visit_helpers import released_assignment

SCRIPT = '<script>alert("x")</script>'


def _open_item(session: Session) -> tuple[Cast, LedgerItem, RoundTeam]:
    """An open item of the county, and a team of a dispatched round of the county (another household)."""
    c = cast(session)
    item = findings_review.confirm(session, c.sup, finding(session, c.sup, c.household).id)
    ins = make_user(session, "ins-cons", Role.inspector)
    other = released_assignment(session, make_household(session, "LB760"), [ins])
    team = session.get(RoundTeam, other.team_id)
    assert team is not None
    session.commit()
    return c, item, team


def _recheck_form(client, item_id: uuid.UUID) -> dict[str, str]:  # type: ignore[no-untyped-def]
    page = client.get(f"{C}/ledger/{item_id}")
    assert page.status_code == 200 and 'id="recheck-form"' in page.text, page.text[:300]
    return {"csrf_token": _csrf(page.text), "key": _key(page.text)}


def _rechecks(session: Session, item: LedgerItem) -> list[Assignment]:
    session.expire_all()
    return list(session.exec(select(Assignment).where(Assignment.household_id == item.household_id)).all())


def test_the_recheck_form_orders_one_recheck_and_the_page_shows_it(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, item, team = _open_item(session)
    login(client, "sup1LB700")
    page = client.get(f"{C}/ledger/{item.id}").text
    assert f'<option value="{team.id}">' in page and "ins-cons" in page
    assert 'id="recheck"' not in page  # nothing ordered yet
    today = local_today().isoformat()
    form = _recheck_form(client, item.id) | {"team_id": str(team.id), "visit_date": today}

    no_csrf = client.post(
        f"{C}/ledger/{item.id}/recheck", data={k: v for k, v in form.items() if k != "csrf_token"}
    )
    assert no_csrf.status_code == 403 and "text/html" in no_csrf.headers["content-type"]
    forged = client.post(f"{C}/ledger/{item.id}/recheck", data=form | {"csrf_token": "x"})
    assert forged.status_code == 403
    assert _rechecks(session, item) == []

    # the service refuses a day in the past; the refusal comes back on the item's page
    past = _recheck_form(client, item.id) | {
        "team_id": str(team.id),
        "visit_date": (local_today() - timedelta(days=1)).isoformat(),
    }
    refused = client.post(f"{C}/ledger/{item.id}/recheck", data=past)
    assert refused.status_code == 422 and 'id="refusal"' in refused.text and "已经过去" in refused.text
    assert _rechecks(session, item) == []

    for _ in range(2):  # a double submit orders once
        r = client.post(f"{C}/ledger/{item.id}/recheck", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{C}/ledger/{item.id}"
    ordered = _rechecks(session, item)
    assert len(ordered) == 1 and ordered[0].team_id == team.id and ordered[0].released_at is None
    got = session.get(LedgerItem, item.id)
    assert got is not None and got.recheck_assignment_id == ordered[0].id
    events = session.exec(
        select(LedgerEvent).where(LedgerEvent.item_id == item.id, LedgerEvent.action == "recheck")
    ).all()
    assert len(events) == 1
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.recheck")).all()) == 1

    shown = client.get(f"{C}/ledger/{item.id}").text
    start = shown.index('id="recheck"')
    section = shown[start : shown.index("</section>", start)]
    assert re.search(rf'id="recheck-day">{today}<', section)
    assert "待下发（密封）" in section and team.label in section and "飞检" in section
    assert re.search(r'id="recheck-visit">—<', section)

    # the service refuses the same round again; the refusal comes back on the item's page
    again = _recheck_form(client, item.id) | {"team_id": str(team.id), "visit_date": today}
    taken = client.post(f"{C}/ledger/{item.id}/recheck", data=again)
    assert taken.status_code == 409 and "该户在这一轮已有走访任务" in taken.text
    assert len(_rechecks(session, item)) == 1
    bad = client.post(f"{C}/ledger/{item.id}/recheck", data=again | {"team_id": "nope"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]

    # the item's detail shows the recheck to supervisors; the officer who answers for the fix does
    # not learn the sealed visit (the console is the supervisors'; the officers read the API)
    client.cookies.clear()
    sup = client.get(f"/api/v1/ledger/{item.id}", headers=auth_headers(client, "sup2LB700")).json()
    assert sup["recheck"]["assignment_id"] == str(ordered[0].id) and sup["recheck"]["status"] == "pending"
    off = client.get(f"/api/v1/ledger/{item.id}", headers=auth_headers(client, "offLB700"))
    assert off.status_code == 200 and off.json()["recheck"] is None
    # nor its day through the item's history (the supervisors' history keeps it)
    day = ordered[0].visit_date.isoformat()
    assert [h["note"] for h in off.json()["history"] if h["action"] == "recheck"] == [None]
    assert any(h["action"] == "recheck" and h["note"] == day for h in sup["history"])


def test_the_finished_recheck_visit_shows_and_verifies_the_item(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    c, item, team = _open_item(session)
    a = ledger.order_recheck(session, c.sup, item.id, RecheckIn(team_id=team.id, visit_date=local_today()))
    ledger.submit_fix(session, c.officer, item.id, FixIn(note="已停发"))
    ins = session.exec(select(User).where(User.login == "ins-cons")).one()
    v = Visit(
        household_id=c.household.id,
        inspector_id=ins.id,
        assignment_id=a.id,
        status=VisitStatus.submitted,
    )
    session.add(v)
    session.commit()
    login(client, "sup2LB700")
    page = client.get(f"{C}/ledger/{item.id}").text
    assert f'href="{C}/visits/{v.id}"' in page and "已提交" in page[page.index('id="recheck-visit"') :]
    assert f'name="recheck_visit" value="{v.id}"' in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    data = {
        "csrf_token": _csrf(page),
        "key": _key(page),
        "version": version.group(1),
        "recheck_visit": str(v.id),
    }
    r = client.post(f"{C}/ledger/{item.id}/verify", data=data, follow_redirects=False)
    assert r.status_code == 303
    session.expire_all()
    got = session.get(LedgerItem, item.id)
    assert got is not None and got.state is LedgerState.closed
    verify = session.exec(
        select(LedgerEvent).where(LedgerEvent.item_id == item.id, LedgerEvent.action == "verify")
    ).one()
    assert verify.evidence_ids == [f"visit:{v.id}"]


def test_a_recheck_of_another_regions_item_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, item, team = _open_item(session)
    make_user(session, "farsup", Role.supervisor, scope_code="150423")
    session.commit()
    login(client, "farsup")
    assert client.get(f"{C}/ledger/{item.id}").status_code == 404
    denied = len(session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.denied")).all())
    board = client.get(f"{C}/ledger").text
    form = {
        "csrf_token": _csrf(board),
        "key": "far-1",
        "team_id": str(team.id),
        "visit_date": local_today().isoformat(),
    }
    r = client.post(f"{C}/ledger/{item.id}/recheck", data=form)
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert _rechecks(session, item) == []
    session.expire_all()
    after = session.exec(select(AuditEvent).where(AuditEvent.action == "ledger.denied")).all()
    assert len(after) == denied + 1


def _declaration(rng: random.Random, **kw: object) -> dict[str, object]:
    """A browser's declaration form: the cadre, two relatives and three empty relative rows."""
    form: dict[str, object] = {
        "name": "赵干部",
        "id_number": make_id(rng),
        "unit": "林东镇人民政府",
        "post": "村主任",
        "township_code": VILLAGE[:9],
        "rel_name": ["赵兄", SCRIPT, "", "", ""],
        "rel_id": [make_id(rng), make_id(rng), "", "", ""],
        "rel_relation": ["兄", "子", "", "", ""],
    }
    return form | kw


def _masked(id_number: str) -> str:
    return f"{id_number[:6]}********{id_number[-4:]}"


def test_the_cadre_form_declares_once_masked_and_escaped(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    session.commit()
    login(client)
    page = client.get(f"{C}/cadres").text
    assert 'id="declare-form"' in page and page.count('name="rel_id"') == 5
    assert f'<option value="{VILLAGE[:9]}">' in page  # the township choices in scope
    form = _declaration(random.Random(3), post=SCRIPT) | {"key": _key(page)}
    assert client.post(f"{C}/cadres/declare", data=form).status_code == 403
    assert client.post(f"{C}/cadres/declare", data=form | {"csrf_token": "x"}).status_code == 403
    assert session.exec(select(Cadre)).first() is None

    form["csrf_token"] = _csrf(page)
    for _ in range(2):  # a double submit declares once
        r = client.post(f"{C}/cadres/declare", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"{C}/cadres"
    session.expire_all()
    stored = session.exec(select(Cadre)).all()
    assert len(stored) == 1 and stored[0].post == SCRIPT and stored[0].township_code == VILLAGE[:9]
    relatives = session.exec(
        select(CadreRelative)
        .where(CadreRelative.cadre_id == stored[0].id)
        .order_by(col(CadreRelative.position))
    ).all()
    assert [(r.name, r.relation) for r in relatives] == [
        ("赵兄", "兄"),
        ('<script>alert("x")</script>', "子"),
    ]
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "cadre.declare")).all()) == 1

    shown = client.get(f"{C}/cadres").text
    body = shown[shown.index('id="cadres-body"') :]
    ids = [str(form["id_number"]), *(str(i) for i in form["rel_id"] if i)]  # type: ignore[attr-defined]
    for id_number in ids:
        assert id_number not in shown and _masked(id_number) in body
    assert "赵**" in body and "赵干部" not in body and "赵兄" not in body  # names masked too
    assert SCRIPT not in shown and "<script>alert" not in shown
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body  # the post is shown as text
    assert re.search(r"(?<![0-9A-Za-z])\d{17}[\dX](?![0-9A-Za-z])", shown) is None


def test_the_cadre_form_refusals_are_the_422_page_with_the_services_message(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    session.commit()
    login(client)
    rng = random.Random(4)
    good = make_id(rng)
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    cases = [
        ({"id_number": wrong_check}, "身份证号校验位错误"),
        ({"id_number": "12345"}, "干部身份证号"),  # the contract's limits: the column is named
        ({"township_code": "150422999"}, "乡镇（街道）代码无效：150422999"),
        ({"rel_id": ["150422", "", "", "", ""], "rel_name": ["赵兄", "", "", "", ""]}, "亲属身份证号"),
        ({"name": ""}, "干部姓名"),
    ]
    for change, message in cases:
        page = client.get(f"{C}/cadres").text
        form = _declaration(rng, **change) | {"csrf_token": _csrf(page), "key": _key(page)}
        r = client.post(f"{C}/cadres/declare", data=form)
        assert r.status_code == 422 and "text/html" in r.headers["content-type"], change
        assert message in r.text, (change, r.text[-800:])
        assert wrong_check not in r.text  # a typed ID number is not echoed
    session.expire_all()
    assert session.exec(select(Cadre)).first() is None
    english = client.get(f"{C}/cadres").text
    client.cookies.set("fj_console_lang", "en", path="/console")
    form = _declaration(rng, id_number=wrong_check) | {"csrf_token": _csrf(english), "key": _key(english)}
    r = client.post(f"{C}/cadres/declare", data=form)
    assert r.status_code == 422 and "checksum" in r.text
