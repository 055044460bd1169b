"""Console cross-checks: the upload job and its progress page, runs, masked matches, scope, CSRF, escaping."""

from __future__ import annotations

import random
from datetime import date

from sqlmodel import Session, select

from contracts.household_import import JobKind
from models.audit import AuditEvent
from models.crosscheck import CrosscheckRun
from models.user import Role
from services import crosschecks, jobs
from tests.console.test_console_pages import _csrf, _key, login
from tests.factories import make_household, make_id, make_user
from tests.round_helpers import actor_of, supervisor

C = "/console"


def _month() -> str:
    today = date.today()
    return f"{today.year}-{today.month:02d}"


def _deaths_csv(idn: str) -> bytes:
    died = date(date.today().year - 1, 6, 1).isoformat()
    return f"姓名,身份证号,死亡日期\n张三,{idn},{died}\n".encode("gb18030")


def test_upload_runs_a_job_and_the_run_shows_masked_matches(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    idn = make_id(random.Random(5), born=date(1944, 2, 3))
    make_household(session, "LB-XC1", id_number=idn, size=1)
    supervisor(session)
    session.commit()
    login(client)
    page = client.get(f"{C}/crosschecks")
    assert page.status_code == 200 and "殡葬" in page.text and 'name="month"' in page.text
    form = {"csrf_token": _csrf(page.text), "key": _key(page.text), "month": _month(), "source": "deaths"}
    files = {"file": ("d.csv", _deaths_csv(idn), "text/csv")}
    r = client.post(f"{C}/crosschecks/upload", data=form, files=files, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{C}/crosschecks/jobs/")
    again = client.post(f"{C}/crosschecks/upload", data=form, files=files, follow_redirects=False)
    assert again.headers["location"] == r.headers["location"]  # the same form starts nothing new
    assert len(session.exec(select(CrosscheckRun)).all()) == 1
    job = client.get(r.headers["location"])
    assert 'id="job-status">已完成' in job.text and "<progress" in job.text and 'id="run-link"' in job.text
    runs = client.get(f"{C}/crosschecks")
    run = session.exec(select(CrosscheckRun)).one()
    assert f"{C}/crosschecks/runs/{run.id}" in runs.text and "d.csv" in runs.text
    detail = client.get(f"{C}/crosschecks/runs/{run.id}")
    assert detail.status_code == 200 and "LB-XC1" in detail.text and "死亡后仍在发放" in detail.text
    assert idn not in detail.text and f"{idn[:6]}********{idn[-4:]}" in detail.text
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "crosscheck.read")).first()
    en = client.get(f"{C}/crosschecks/runs/{run.id}", cookies={"fj_console_lang": "en"})
    assert "Paid after death" in en.text


def test_upload_without_csrf_and_bad_input_are_refused_as_pages(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    supervisor(session)
    session.commit()
    login(client)
    page = client.get(f"{C}/crosschecks")
    files = {"file": ("d.csv", _deaths_csv(make_id(random.Random(1))), "text/csv")}
    base = {"key": _key(page.text), "month": _month(), "source": "deaths"}
    assert client.post(f"{C}/crosschecks/upload", data=base, files=files).status_code == 403
    assert (
        client.post(f"{C}/crosschecks/upload", data=base | {"csrf_token": "x"}, files=files).status_code
        == 403
    )
    ok = base | {"csrf_token": _csrf(page.text)}
    bad = client.post(f"{C}/crosschecks/upload", data=ok | {"month": "2026-13"}, files=files)
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    boats = client.post(f"{C}/crosschecks/upload", data=ok | {"key": "k2", "source": "boats"}, files=files)
    assert boats.status_code == 404 and "text/html" in boats.headers["content-type"]
    empty = client.post(
        f"{C}/crosschecks/upload", data=ok | {"key": "k3"}, files={"file": ("d.csv", b"", "text/csv")}
    )
    assert empty.status_code == 422
    assert session.exec(select(CrosscheckRun)).first() is None


def test_another_regions_run_is_not_found_and_file_names_are_escaped(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    idn = make_id(random.Random(8), born=date(1950, 1, 1))
    make_household(session, "LB-XC2", id_number=idn, size=1)
    sup = supervisor(session)
    far = make_user(session, "far", Role.supervisor, scope_code="150423")
    crosschecks.import_deaths(session, actor_of(far), _deaths_csv(idn), "far.csv", _month())
    crosschecks.import_deaths(
        session, actor_of(sup), _deaths_csv(idn), '<script>alert("x")</script>.csv', _month()
    )
    session.commit()
    queued = jobs.create(session, actor_of(sup), JobKind.crosscheck)  # an upload still in progress
    jobs.create(session, actor_of(far), JobKind.crosscheck)
    session.commit()
    far_run = session.exec(select(CrosscheckRun).where(CrosscheckRun.filename == "far.csv")).one()
    login(client)
    assert client.get(f"{C}/crosschecks/runs/{far_run.id}").status_code == 404
    text = client.get(f"{C}/crosschecks").text
    assert "far.csv" not in text
    assert text.count(f"{C}/crosschecks/jobs/") == 1 and f"{C}/crosschecks/jobs/{queued.id}" in text
    assert '<script>alert("x")</script>' not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    make_user(session, "off", Role.officer, scope_code="150422")
    session.commit()
    client.cookies.clear()
    login(client, "off")
    officer = client.get(f"{C}/crosschecks")
    assert (
        officer.status_code == 200
        and "/crosschecks/upload" not in officer.text
        and "LB-XC2" not in officer.text
    )
    assert client.get(f"{C}/crosschecks/runs/{far_run.id}").status_code == 404
