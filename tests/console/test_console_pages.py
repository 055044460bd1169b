"""The supervisor console over HTTP: sessions, CSRF, scope, idempotent forms, escaping, the pages."""

from __future__ import annotations

import random
import re
import uuid
from datetime import timedelta

from sqlmodel import Session, select

from models.audit import AuditEvent
from models.round import InspectionRound
from models.types import utcnow
from models.user import ApiToken, Role
from models.visit import Visit, VisitStatus
from services import rounds
from tests.factories import make_household, make_id, make_user
from tests.round_helpers import (
    COUNTY,
    TOWNS,
    actor_of,
    drawn_round,
    inspectors,
    populate,
    supervisor,
    village,
)

C = "/console"


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m, html[:500]
    return m.group(1)


def _key(html: str) -> str:
    m = re.search(r'name="key" value="([^"]+)"', html)
    assert m
    return m.group(1)


def login(client, name: str = "sup", password: str = "secret-pass-1"):  # type: ignore[no-untyped-def]
    page = client.get(f"{C}/login")
    r = client.post(
        f"{C}/login",
        data={"username": name, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r


def test_login_sets_a_database_session_with_safe_cookie_flags(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    r = login(client)
    cookie = r.headers["set-cookie"]
    assert "fj_console=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Secure" not in cookie  # plain http in tests
    tokens = session.exec(select(ApiToken).where(ApiToken.name == "console")).all()
    assert len(tokens) == 1 and tokens[0].expires_at > utcnow()
    page = client.get(f"{C}/")
    assert page.status_code == 200 and "进行中的轮次" in page.text


def test_secure_cookie_behind_https(client, session: Session, settings) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    settings.public_url = "https://feijian.example.cn"
    page = client.get(f"{C}/login")
    assert "Secure" in page.headers["set-cookie"]
    client.cookies.set("fj_console_login", _csrf(page.text), path="/console")
    r = client.post(
        f"{C}/login",
        data={"username": "sup", "password": "secret-pass-1", "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_wrong_password_shows_the_login_page_again(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    page = client.get(f"{C}/login")
    r = client.post(
        f"{C}/login", data={"username": "sup", "password": "nope", "csrf_token": _csrf(page.text)}
    )
    assert r.status_code == 401 and "账号或密码不正确" in r.text
    assert "fj_console=" not in r.headers.get("set-cookie", "")
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).first()


def test_login_without_csrf_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    client.get(f"{C}/login")
    r = client.post(f"{C}/login", data={"username": "sup", "password": "secret-pass-1", "csrf_token": "x"})
    assert r.status_code == 403 and "text/html" in r.headers["content-type"]


def test_no_or_expired_session_goes_to_the_login_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    assert client.get(f"{C}/", follow_redirects=False).headers["location"] == f"{C}/login"
    supervisor(session)
    login(client)
    for t in session.exec(select(ApiToken).where(ApiToken.name == "console")).all():
        t.expires_at = utcnow() - timedelta(minutes=1)
        session.add(t)
    session.commit()
    r = client.get(f"{C}/rounds", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{C}/login"


def test_logout_revokes_the_session(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    login(client)
    token = client.cookies.get("fj_console")
    csrf = _csrf(client.get(f"{C}/").text)
    assert client.post(f"{C}/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("fj_console", token, path="/console")  # a stolen copy of the cookie is dead too
    assert client.get(f"{C}/", follow_redirects=False).status_code == 303


def test_actions_without_the_right_csrf_token_are_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    sup = supervisor(session)
    r = rounds.create_round(session, actor_of(sup), _round_data())
    session.commit()
    login(client)
    page = client.get(f"{C}/rounds/{r.id}")
    key = _key(page.text)
    for data in ({"key": key}, {"key": key, "csrf_token": "forged"}):
        resp = client.post(f"{C}/rounds/{r.id}/commit", data=data)
        assert resp.status_code == 403 and "无权操作" in resp.text
    session.refresh(r)
    assert r.status.value == "draft"


def _round_data(name: str = "春季飞行检查"):  # type: ignore[no-untyped-def]
    from contracts.rounds import RoundCreate, SamplingParams

    today = rounds.local_today()
    return RoundCreate(
        name=name,
        scope_code=COUNTY,
        window_start=today,
        window_end=today + timedelta(days=4),
        params=SamplingParams(sample_ratio=0.3, min_per_stratum=1),
    )


def test_a_round_from_creation_to_reveal(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    supervisor(session)
    inspectors(session, 6)
    session.commit()
    login(client)
    page = client.get(f"{C}/rounds")
    today = rounds.local_today()
    form = {
        "csrf_token": _csrf(page.text),
        "key": _key(page.text),
        "name": "春季飞行检查",
        "type": "flying",
        "scope_code": COUNTY,
        "window_start": str(today),
        "window_end": str(today + timedelta(days=3)),
    }
    r = client.post(f"{C}/rounds", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    # the same form sent twice creates one round and lands on the same page
    again = client.post(f"{C}/rounds", data=form, follow_redirects=False)
    assert again.headers["location"] == url
    assert len(session.exec(select(InspectionRound)).all()) == 1
    for step, extra in (("commit", {}), ("draw", {"witness": "3 1 4 1 5"}), ("assign", {})):
        page = client.get(url)
        resp = client.post(
            f"{url}/{step}",
            data={"csrf_token": _csrf(page.text), "key": _key(page.text), **extra},
            follow_redirects=False,
        )
        assert resp.status_code == 303, (step, resp.text)
    page = client.get(url)
    assert "/api/v1/public/rounds/" in page.text and "3 1 4 1 5" in page.text
    rid = url.rsplit("/", 1)[1]
    assert client.get(f"/api/v1/public/rounds/{rid}/verify").status_code == 200
    for step in ("dispatch", "close", "reveal"):
        page = client.get(url)
        resp = client.post(
            f"{url}/{step}",
            data={"csrf_token": _csrf(page.text), "key": _key(page.text)},
            follow_redirects=False,
        )
        assert resp.status_code == 303, (step, resp.text)
    got = session.get(InspectionRound, uuid.UUID(rid))
    assert got is not None and got.status.value == "closed" and got.revealed_at is not None
    assert client.get(f"/api/v1/public/rounds/{rid}/verify").json()["verification"]["ok"]


def test_a_refused_step_is_a_page_not_a_500(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    sup = supervisor(session)
    r = rounds.create_round(session, actor_of(sup), _round_data())
    session.commit()
    login(client)
    page = client.get(f"{C}/rounds/{r.id}")
    resp = client.post(
        f"{C}/rounds/{r.id}/reveal", data={"csrf_token": _csrf(page.text), "key": _key(page.text)}
    )
    assert resp.status_code == 409 and "text/html" in resp.headers["content-type"]


def test_another_regions_records_are_not_found(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    homes = populate(session)
    sup = supervisor(session)
    make_user(session, "far", Role.supervisor, scope_code="150423")
    r = rounds.create_round(session, actor_of(sup), _round_data())
    insp = inspectors(session, 1)[0]
    v = Visit(household_id=homes[0].id, inspector_id=insp.id, status=VisitStatus.submitted)
    session.add(v)
    session.commit()
    login(client, "far")
    for path in (f"{C}/rounds/{r.id}", f"{C}/visits/{v.id}", f"{C}/rounds/{uuid.uuid4()}"):
        resp = client.get(path)
        assert resp.status_code == 404 and "未找到" in resp.text, path
    assert "春季飞行检查" not in client.get(f"{C}/").text
    assert "春季飞行检查" not in client.get(f"{C}/rounds").text


def test_script_in_displayed_text_is_escaped(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    sup = supervisor(session)
    rounds.create_round(session, actor_of(sup), _round_data('<script>alert("x")</script>'))
    session.commit()
    login(client)
    for path in (f"{C}/", f"{C}/rounds"):
        text = client.get(path).text
        assert '<script>alert("x")</script>' not in text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text


def test_english_switch(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    login(client)
    r = client.get(f"{C}/lang/en?back=/console/rounds", follow_redirects=False)
    assert r.headers["location"] == f"{C}/rounds"
    assert "New round" in client.get(f"{C}/rounds").text
    # a foreign address is never followed back
    assert (
        client.get(f"{C}/lang/en?back=https://evil.example/", follow_redirects=False).headers["location"]
        == f"{C}/"
    )


def test_visit_review_shows_answers_flags_map_and_is_audited(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    homes = populate(session)
    supervisor(session)
    insp = inspectors(session, 1)[0]
    h = homes[0]
    v = Visit(
        household_id=h.id,
        inspector_id=insp.id,
        status=VisitStatus.submitted,
        answers=[{"step_id": "door", "value": "<b>开门</b>"}],
        step_seconds={"door": 12.0},
        track=[{"lat": 43.95, "lon": 119.35, "at": "2026-12-04T09:00:00+00:00", "live": True}],
        checkin={"lat": 43.95, "lon": 119.35},
        flags=[{"code": "rushed"}, {"code": "track_gap"}],
    )
    session.add(v)
    session.commit()
    login(client)
    listing = client.get(f"{C}/visits")
    assert str(v.id) in listing.text and "用时过短" in listing.text
    page = client.get(f"{C}/visits/{v.id}")
    assert page.status_code == 200
    assert "&lt;b&gt;开门&lt;/b&gt;" in page.text and "轨迹中断" in page.text
    assert '"radius_m": 150.0' in page.text and '"tiles": null' in page.text
    assert session.exec(
        select(AuditEvent).where(AuditEvent.action == "visit.read", AuditEvent.entity_id == str(v.id))
    ).first()


def test_register_search_by_id_number_is_masked_and_audited(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    homes = populate(session)
    supervisor(session)
    id_number = make_id(random.Random(99))
    target = make_household(session, "LB99999", village=village(TOWNS[0], 0), id_number=id_number)
    session.commit()
    login(client)
    page = client.get(f"{C}/register")
    assert page.status_code == 200 and homes[0].register_no in page.text
    found = client.get(f"{C}/register", params={"id_number": id_number})
    assert target.register_no in found.text and homes[0].register_no not in found.text
    assert id_number not in found.text and id_number[-4:] in found.text  # masked
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "household.list")).all()
    assert any(e.details.get("by_id_number") for e in events)


def test_audit_log_pages_and_chain_verification(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    session.commit()
    login(client)
    for _ in range(3):
        client.get(f"{C}/register")
    first = client.get(f"{C}/audit")
    assert first.status_code == 200
    resp = client.post(f"{C}/audit/verify", data={"csrf_token": _csrf(first.text)})
    assert resp.status_code == 200 and 'id="chain-result" class="ok"' in resp.text
    top = max(e.seq or 0 for e in session.exec(select(AuditEvent)).all())
    older = client.get(f"{C}/audit", params={"before": top})
    assert f'<td class="num">{top}</td>' not in older.text


def test_invite_code_is_shown_once_and_a_repeat_creates_none(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from models.invite import InviteCode

    supervisor(session)
    inspectors(session, 1)
    session.commit()
    login(client)
    page = client.get(f"{C}/users")
    assert "insp0" in page.text
    form = {"csrf_token": _csrf(page.text), "key": _key(page.text), "login": "insp0"}
    first = client.post(f"{C}/invites", data=form)
    assert first.status_code == 200 and 'id="invite-code"' in first.text
    again = client.post(f"{C}/invites", data=form)
    assert again.status_code == 200 and 'id="invite-code"' not in again.text
    assert len(session.exec(select(InviteCode)).all()) == 1


def test_drawn_round_on_the_dashboard_with_coverage(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    populate(session)
    sup = supervisor(session)
    drawn_round(session, actor_of(sup))
    session.commit()
    login(client)
    text = client.get(f"{C}/").text
    assert "2026年第一轮飞行检查" in text and "4 / 4</td>" in text
    # a round not drawn yet has no coverage row
    rounds.create_round(session, actor_of(sup), _round_data("未抽签的轮次"))
    session.commit()
    text = client.get(f"{C}/").text
    assert text.count("未抽签的轮次") == 1 and text.count("4 / 4</td>") == 1


def test_assignment_review_moves_a_household_to_another_team_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from models.round import Assignment
    from services import round_teams

    populate(session)
    sup = supervisor(session)
    inspectors(session, 6)
    r = drawn_round(session, actor_of(sup))
    round_teams.assign_round(session, actor_of(sup), r.id, None, None, 2, 6, None)
    session.commit()
    login(client)
    page = client.get(f"{C}/rounds/{r.id}/assignments")
    assert page.status_code == 200
    forms = re.findall(
        r'name="key" value="([^"]+)">\s*<input type="hidden" name="assignment_id" value="([^"]+)">\s*'
        r'<select name="team_id"[^>]*>((?:<option value="[^"]+">[^<]*</option>)+)',
        page.text,
    )
    assert forms
    csrf = _csrf(page.text)
    moved = None
    for key, aid, options in forms:
        for team in re.findall(r'<option value="([^"]+)"', options):
            data = {"csrf_token": csrf, "key": key, "assignment_id": aid, "team_id": team}
            resp = client.post(f"{C}/rounds/{r.id}/swap", data=data, follow_redirects=False)
            if resp.status_code == 303:
                moved = (aid, team, data)
                break
            assert resp.status_code == 409 and "text/html" in resp.headers["content-type"]
        if moved:
            break
    assert moved is not None
    aid, team, data = moved
    got = session.get(Assignment, uuid.UUID(aid))
    session.refresh(got)
    assert got is not None and str(got.team_id) == team
    swaps = len(session.exec(select(AuditEvent).where(AuditEvent.action == "round.swap")).all())
    assert client.post(f"{C}/rounds/{r.id}/swap", data=data, follow_redirects=False).status_code == 303
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "round.swap")).all()) == swaps


def test_register_import_runs_as_a_job_with_a_progress_page(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from models.household import Household
    from tests.factories import VILLAGE, ensure_regions

    ensure_regions(session, VILLAGE)
    supervisor(session)
    session.commit()
    login(client)
    csrf = _csrf(client.get(f"{C}/register").text)
    idn = make_id(random.Random(3))
    csv = f"低保证号,户主姓名,身份证号,所属村(居),保障类别\nLB77,张三,{idn},{VILLAGE},特困\n".encode()
    files = {"file": ("r.csv", csv, "text/csv")}
    refused = client.post(f"{C}/register/import", data={"csrf_token": "x"}, files=files)
    assert refused.status_code == 403
    r = client.post(f"{C}/register/import", data={"csrf_token": csrf}, files=files, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/jobs/")
    page = client.get(r.headers["location"])
    assert 'id="job-status">已完成' in page.text and "<progress" in page.text
    assert session.exec(select(Household).where(Household.register_no == "LB77")).first()
    empty = client.post(
        f"{C}/register/import", data={"csrf_token": csrf}, files={"file": ("r.csv", b"", "text/csv")}
    )
    assert empty.status_code == 422 and "text/html" in empty.headers["content-type"]


def test_inspector_quality_page_links_to_the_visits_behind_it(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    homes = populate(session)
    supervisor(session)
    a, b = inspectors(session, 2)
    for i, insp in enumerate((a, a, b)):
        session.add(
            Visit(household_id=homes[i].id, inspector_id=insp.id, status=VisitStatus.submitted, flags=[])
        )
    session.commit()
    login(client)
    page = client.get(f"{C}/quality")
    assert page.status_code == 200 and 'id="chart-quality"' in page.text
    link = f"{C}/visits?inspector={a.id}"
    assert link in page.text
    listing = client.get(link)
    assert listing.text.count(f'href="{C}/visits/') == 2


def test_a_form_with_bad_fields_gets_a_page_not_json(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    session.commit()
    login(client)
    page = client.get(f"{C}/rounds")
    data = {"csrf_token": _csrf(page.text), "key": _key(page.text), "window_start": "not-a-date"}
    resp = client.post(f"{C}/rounds", data=data)
    assert resp.status_code == 422 and "text/html" in resp.headers["content-type"]
    assert "输入有误" in resp.text
    # the API keeps its problem documents
    api = client.post("/api/v1/auth/token", json={})
    assert api.headers["content-type"].startswith("application/problem+json")
