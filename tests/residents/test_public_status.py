"""The public status lookup: one answer for every failure, throttled, audited, masked; the /status page."""

from __future__ import annotations

import random
import secrets
from contextlib import nullcontext
from datetime import timedelta

import pytest
from sqlmodel import Session, col, select

from contracts.residents import StatusQuery
from models.application import StatusAttempt
from models.audit import AuditEvent
from models.types import utcnow
from services import public_status
from services.residents_codes import new_number
from tests.factories import make_id
from tests.residents.helpers import make_application

URL = "/api/v1/public/status"


def _unit(session: Session):  # type: ignore[no-untyped-def]
    """The test's session as the lookup's unit of work (the test's rollback undoes it)."""
    return lambda: nullcontext(session)


def _events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_the_right_three_values_show_the_stage_masked(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    a = make_application(session)
    r = client.post(URL, json={"number": a.number.lower(), "id_number": a.id_number, "name": " 李 四 "})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["stage"] == "申请" and body["applicant_name"] == "李*"
    assert body["id_number"].startswith(a.id_number[:6]) and a.id_number not in r.text
    assert a.phone not in r.text
    assert "入户调查" in body["next_step"] and body["contact_phone"] == "0476-7822001"
    assert len(_events(session, "application.status_read")) == 1


def test_every_failure_kind_gets_the_same_status_and_body(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    a = make_application(session)
    other = make_id(random.Random(99))
    tries = {
        "unknown number": {"number": new_number("SQ"), "id_number": a.id_number, "name": a.name},
        "malformed number": {"number": "SQ-1234", "id_number": a.id_number, "name": a.name},
        "wrong id": {"number": a.number, "id_number": other, "name": a.name},
        "wrong name": {"number": a.number, "id_number": a.id_number, "name": "王五"},
    }
    answers = {kind: client.post(URL, json=body) for kind, body in tries.items()}
    statuses = {kind: r.status_code for kind, r in answers.items()}
    bodies = {kind: r.content for kind, r in answers.items()}
    assert set(statuses.values()) == {404}, statuses
    assert len(set(bodies.values())) == 1, bodies
    assert len(_events(session, "application.status_failed")) == 4


def test_many_id_numbers_for_one_application_are_throttled(session: Session) -> None:
    """Five wrong ID numbers for one number (from five addresses) lock that number for everyone."""
    a = make_application(session)
    unit = _unit(session)
    for i in range(5):
        q = StatusQuery(number=a.number, id_number=make_id(random.Random(1000 + i)), name=a.name)
        with pytest.raises(public_status.StatusNotFound):
            public_status.lookup(unit, q, f"10.0.0.{i}")
    right = StatusQuery(number=a.number, id_number=a.id_number, name=a.name)
    with pytest.raises(public_status.StatusThrottled) as thr:
        public_status.lookup(unit, right, "10.9.9.9")
    assert 1 <= thr.value.params["retry_after"] <= 15 * 60
    # another application from the same fresh address still answers
    b = make_application(session, name="周八", seed=2)
    ok = public_status.lookup(
        unit, StatusQuery(number=b.number, id_number=b.id_number, name=b.name), "10.9.9.9"
    )
    assert ok.number == b.number
    session.commit()
    assert len(_events(session, "application.status_failed")) == 5
    assert len(_events(session, "application.status_throttled")) == 1
    assert len(_events(session, "application.status_read")) == 1


def test_another_residents_number_with_my_values_gets_the_one_failure(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    """A real number of someone else, typed with my own ID number and name: the same 404 as a made-up one."""
    mine = make_application(session)
    theirs = make_application(session, name="周八", seed=2)
    other = client.post(URL, json={"number": theirs.number, "id_number": mine.id_number, "name": mine.name})
    made_up = client.post(
        URL, json={"number": new_number("SQ"), "id_number": mine.id_number, "name": mine.name}
    )
    assert other.status_code == made_up.status_code == 404
    assert other.content == made_up.content
    assert "周" not in other.text and theirs.id_number[-4:] not in other.text
    # and my own number with their values
    swapped = client.post(
        URL, json={"number": mine.number, "id_number": theirs.id_number, "name": theirs.name}
    )
    assert swapped.status_code == 404 and swapped.content == made_up.content


def test_a_flood_from_one_address_is_refused_after_five(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    """Fifty lookups from one address with changing numbers and ID numbers: five answers, then 429."""
    a = make_application(session)
    rng = random.Random(11)
    codes = [
        client.post(
            URL, json={"number": new_number("SQ"), "id_number": make_id(rng), "name": a.name}
        ).status_code
        for _ in range(50)
    ]
    assert codes[:5] == [404] * 5 and set(codes[5:]) == {429}
    assert len(_events(session, "application.status_failed")) == 5
    assert len(_events(session, "application.status_throttled")) == 45


@pytest.mark.parametrize("numbers", ["sequential", "random"])
def test_enumerating_numbers_from_one_address_is_throttled(client, session: Session, numbers: str) -> None:  # type: ignore[no-untyped-def]
    a = make_application(session)
    prefix = a.number[:-4]
    guesses = (
        [prefix + f"{c}{c}{c}{c}" for c in "ABCDEFGH"]
        if numbers == "sequential"
        else ["SQ-" + secrets.token_hex(6).upper() for _ in range(8)]
    )
    codes = [client.post(URL, json={"number": g, "id_number": a.id_number, "name": a.name}) for g in guesses]
    assert [r.status_code for r in codes[:5]] == [404] * 5
    assert all(r.status_code == 429 for r in codes[5:])
    assert int(codes[5].headers["Retry-After"]) > 0
    assert codes[5].headers["content-type"].startswith("application/problem+json")
    # the throttled address cannot use the right values either, until the window passes
    right = {"number": a.number, "id_number": a.id_number, "name": a.name}
    assert client.post(URL, json=right).status_code == 429
    assert len(_events(session, "application.status_throttled")) == 4
    old = utcnow() - public_status.WINDOW - timedelta(seconds=1)
    for row in session.exec(select(StatusAttempt).where(col(StatusAttempt.ok).is_(False))).all():
        row.at = old
        session.add(row)
    session.commit()
    assert client.post(URL, json=right).status_code == 200


def test_status_page_answers_without_javascript(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    a = make_application(session)
    form = client.get("/status")
    assert form.status_code == 200 and "<form" in form.text and "申请编号" in form.text
    assert "<script" not in form.text
    r = client.post("/status", data={"number": a.number, "id_number": a.id_number, "name": a.name})
    assert r.status_code == 200 and "李*" in r.text and "乡镇审核" in r.text
    assert a.id_number not in r.text
    en = client.post("/status?lang=en", data={"number": a.number, "id_number": a.id_number, "name": a.name})
    assert "Township review" in en.text and 'lang="en"' in en.text
    bad = client.post("/status", data={"number": a.number, "id_number": a.id_number, "name": "王五"})
    guess = new_number("SQ")
    unknown = client.post("/status", data={"number": guess, "id_number": a.id_number, "name": a.name})
    assert bad.status_code == unknown.status_code == 404
    assert bad.text == unknown.text.replace(guess, a.number)  # the same page but for the echoed number
    assert "未找到与所填信息相符的申请" in bad.text and "未找到与所填信息相符的申请" in unknown.text


def test_status_page_escapes_what_was_typed(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/status", data={"number": '"><script>alert(1)</script>', "id_number": "x", "name": "y"})
    assert "<script>alert(1)</script>" not in r.text
    assert "&lt;script&gt;" in r.text or "&#34;&gt;&lt;script" in r.text
