"""Hostile and absurd input to the cadre, review, cross-check and targeted-check endpoints: each is a
clear 4xx problem+json with a readable text, never a 500, and nothing already accepted is lost
(SQLite and PostgreSQL)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from sqlmodel import Session

from contracts.residents import CaseCategory, CaseSource
from models.application import Case
from models.household import Household
from models.user import Role
from services.residents_codes import new_number
from services.rounds import local_today
from tests.conftest import auth_headers
from tests.factories import VILLAGE, make_household, make_id, make_user

API = "/api/v1"


def _problem(r, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert "{" not in body["detail"], body  # no unfilled placeholder
    return body


def test_review_dates_far_away_are_refused_not_a_500(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = make_household(session, "LBQ01", last_review_date=date(2026, 1, 5))
    make_user(session, "off-q", Role.officer, scope_code=VILLAGE[:9])
    session.commit()
    off = auth_headers(client, "off-q")
    for as_of in ("0001-01-01", "9999-12-31", "1900-06-01"):
        p = _problem(client.get(f"{API}/reviews/due", params={"as_of": as_of}, headers=off), 422)
        assert p["code"] == "reviews_bad_as_of"
    body = {"household_id": str(h.id), "reviewed_on": "0001-01-01"}
    p = _problem(client.post(f"{API}/reviews", json=body, headers=off), 422)
    assert p["code"] == "reviews_past_date"
    csv = "低保证号,复核日期,备注\nLBQ01,0001-01-01,x\nLBQ01,1890-03-01,y\n".encode()
    r = client.post(f"{API}/reviews/import", files={"file": ("r.csv", csv, "text/csv")}, headers=off)
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 0 and {e["code"] for e in r.json()["errors"]} == {"reviews_past_date"}
    session.expire_all()
    kept = session.get(Household, h.id)
    assert kept is not None and kept.last_review_date == date(2026, 1, 5)


def test_id_number_problems_read_as_text_in_both_languages(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    make_household(session, "LBQ03")
    make_user(session, "sup-q", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-q")
    good = make_id(rng)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    body = {
        "name": "钱干部",
        "id_number": bad_check,
        "unit": "林东镇",
        "post": "村主任",
        "township_code": VILLAGE[:9],
        "relatives": [],
    }
    p = _problem(client.post(f"{API}/cadres", json=body, headers=sup), 422)
    assert p["code"] == "id_checksum" and p["detail"] != "id_checksum" and "身份证" in p["detail"]
    en = client.post(f"{API}/cadres", json=body, headers={**sup, "Accept-Language": "en"})
    assert "ID number" in _problem(en, 422)["detail"]
    p = _problem(client.post(f"{API}/cadres", json={**body, "id_number": "AB" * 9}, headers=sup), 422)
    assert p["detail"] != p["code"]


def _case(session: Session, household: Household | None) -> Case:
    c = Case(
        number=new_number("AJ"),
        source=CaseSource.hotline,
        category=CaseCategory.payment,
        text="村干部拿着我家的低保卡",
        household_id=household.id if household else None,
        village_code=household.village_code if household else None,
        due_on=date.today() + timedelta(days=15),
    )
    session.add(c)
    session.flush()
    return c


def test_case_household_and_check_refusals(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    h = make_household(session, "LBQ02")
    a = make_user(session, "insQA", Role.inspector)
    b = make_user(session, "insQB", Role.inspector)
    make_user(session, "sup-c", Role.supervisor, scope_code=h.county_code)
    case = _case(session, h)
    loose = _case(session, None)
    session.commit()
    sup = auth_headers(client, "sup-c")
    missing = "00000000-0000-0000-0000-000000000000"
    r = client.put(f"{API}/cases/{loose.id}/household", json={"household_id": missing}, headers=sup)
    assert "住户" in _problem(r, 404)["detail"]
    team = [str(a.id), str(b.id)]
    far = (local_today() + timedelta(days=400)).isoformat()
    for day in (far, "9999-12-31"):
        order = {"inspector_ids": team, "visit_date": day}
        r = client.post(f"{API}/cases/{case.id}/checks", json=order, headers=sup)
        assert _problem(r, 422)["code"] == "check_date_far"
    first = client.post(f"{API}/cases/{case.id}/checks", json={"inspector_ids": team}, headers=sup)
    assert first.status_code == 201, first.text
    again = client.post(f"{API}/cases/{case.id}/checks", json={"inspector_ids": team}, headers=sup)
    assert _problem(again, 409)["code"] == "check_pending"
    # a bad team is still named as such while a check waits
    twice = {"inspector_ids": [str(a.id), str(a.id)]}
    r = client.post(f"{API}/cases/{case.id}/checks", json=twice, headers=sup)
    assert _problem(r, 422)["code"] == "check_bad_team"
    listed = client.get(f"{API}/cases/{case.id}/checks", headers=sup).json()
    assert [c["id"] for c in listed] == [first.json()["id"]]


def test_cross_check_month_long_before_dibao_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-x", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-x")
    files = {"file": ("d.csv", "姓名,身份证号,死亡日期\n".encode(), "text/csv")}
    for month in ("1000-01", "0001-01", "1898-12"):
        r = client.post(f"{API}/crosschecks/deaths", files=files, data={"month": month}, headers=sup)
        assert _problem(r, 422)["code"] == "xc_bad_month"


def test_cadre_import_rows_name_the_bad_columns(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(4)
    make_household(session, "LBQ04")
    make_user(session, "sup-i", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-i")
    head = "干部姓名,干部身份证号,工作单位,职务,所属乡镇,亲属姓名,亲属身份证号,与干部关系\n"
    good = f"孙干部,{make_id(rng)},林东镇,村主任,{VILLAGE[:9]},孙兄,{make_id(rng)},兄\n"
    short = f"李干部,{make_id(rng)},,村主任,abc,李弟,{make_id(rng)[:17]},弟\n"
    data = (head + good + short).encode()
    r = client.post(f"{API}/cadres/import", files={"file": ("c.csv", data, "text/csv")}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json()["cadres"] == 1
    [error] = r.json()["errors"]
    assert error["row"] == 3 and error["code"] == "cadres_bad_cells"
    assert all(column in error["message"] for column in ("工作单位", "所属乡镇", "亲属身份证号"))
    assert "validation error" not in error["message"]


def test_the_same_review_sent_twice_is_kept_once(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from models.review import HouseholdReview

    h = make_household(session, "LBQ05", last_review_date=None)
    make_user(session, "off-d", Role.officer, scope_code=VILLAGE[:9])
    session.commit()
    off = auth_headers(client, "off-d")
    body = {"household_id": str(h.id), "reviewed_on": "2026-03-02", "note": "入户复核"}
    first = client.post(f"{API}/reviews", json=body, headers=off)
    again = client.post(f"{API}/reviews", json=body, headers=off)
    assert first.status_code == 201 and again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    csv = "低保证号,复核日期,备注\nLBQ05,2026-03-02,x\nLBQ05,2026-04-02,y\n".encode()
    for _ in range(2):
        r = client.post(f"{API}/reviews/import", files={"file": ("r.csv", csv, "text/csv")}, headers=off)
        assert r.status_code == 200 and r.json()["errors"] == [], r.text
    rows = session.exec(select(HouseholdReview).where(HouseholdReview.household_id == h.id)).all()
    assert sorted((x.reviewed_on.isoformat(), x.source) for x in rows) == [
        ("2026-03-02", "import"),
        ("2026-03-02", "visit"),
        ("2026-04-02", "import"),
    ]


def test_missing_rounds_and_runs_are_named_in_words(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-n", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-n")
    nothing = "00000000-0000-0000-0000-000000000000"
    run = _problem(client.get(f"{API}/crosschecks/runs/{nothing}", headers=sup), 404)
    assert "比对批次" in run["detail"] and "crosscheck_run" not in run["detail"]
    est = _problem(client.get(f"{API}/rounds/{nothing}/estimates", headers=sup), 404)
    assert "轮次" in est["detail"]
    job = _problem(client.get(f"{API}/jobs/{nothing}", headers=sup), 404)
    assert "任务" in job["detail"]


def test_tables_saved_as_excel_unicode_text_are_read(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(6)
    make_household(session, "LBQ06", last_review_date=None)
    make_user(session, "sup-u", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-u")
    # Excel's "Unicode text": UTF-16 with a byte-order mark, tab-separated
    head = "干部姓名\t干部身份证号\t工作单位\t职务\t所属乡镇\t亲属姓名\t亲属身份证号\t与干部关系\r\n"
    row = f"周干部\t{make_id(rng)}\t林东镇\t村主任\t{VILLAGE[:9]}\t周兄\t{make_id(rng)}\t兄\r\n"
    for codec in ("utf-16", "utf-16-be"):
        data = (head + row).encode(codec)
        if codec == "utf-16-be":
            data = b"\xfe\xff" + data
        r = client.post(f"{API}/cadres/import", files={"file": ("c.txt", data, "text/plain")}, headers=sup)
        assert r.status_code == 200, r.text
        assert r.json()["cadres"] == 1 and r.json()["errors"] == []
    data = "低保证号\t复核日期\r\nLBQ06\t2026-05-06\r\n".encode("utf-16")
    r = client.post(f"{API}/reviews/import", files={"file": ("r.txt", data, "text/plain")}, headers=sup)
    assert r.status_code == 200 and r.json()["recorded"] == 1, r.text
    # UTF-16 without its mark is still refused with the encoding problem
    bare = "低保证号,复核日期\n".encode("utf-16-le")
    r = client.post(f"{API}/reviews/import", files={"file": ("r.csv", bare, "text/csv")}, headers=sup)
    assert _problem(r, 422)["code"] in ("import_encoding", "import_format")


def _xlsx_rewritten(rows: list[list[str]], sheet: Callable[[bytes], bytes]) -> bytes:
    """A real workbook holding these rows, with its first sheet's XML passed through `sheet`."""
    import io
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet(data)
            z.writestr(info.filename, data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _xlsx_with_stale_dimension(rows: list[list[str]]) -> bytes:
    """An XLSX whose <dimension> claims two rows while the sheet holds more (as some exporters write)."""

    def stale(data: bytes) -> bytes:
        text = data.decode()
        start = text.index('<dimension ref="') + len('<dimension ref="')
        end = text.index('"', start)
        return (text[:start] + "A1:C2" + text[end:]).encode()

    return _xlsx_rewritten(rows, stale)


def test_xlsx_rows_beyond_a_stale_dimension_are_not_dropped(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        make_household(session, f"LBQ7{n}", last_review_date=None)
    make_user(session, "sup-s", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-s")
    data = _xlsx_with_stale_dimension(
        [["低保证号", "复核日期", "备注"]] + [[f"LBQ7{n}", f"2026-05-0{n + 1}", "x"] for n in range(3)]
    )
    r = client.post(f"{API}/reviews/import", files={"file": ("r.xlsx", data)}, headers=sup)
    assert r.status_code == 200, r.text
    assert r.json() == {"recorded": 3, "errors": []}


def _xlsx_with_sheet(sheet: bytes) -> bytes:
    """A real workbook whose first sheet's XML is replaced (a crafted or damaged part)."""
    return _xlsx_rewritten([], lambda _old: sheet)


def test_an_xlsx_that_unpacks_to_far_more_than_it_weighs_is_refused(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "sup-z", Role.supervisor, scope_code=VILLAGE[:6])
    session.commit()
    sup = auth_headers(client, "sup-z")
    head = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    )
    bomb = _xlsx_with_sheet(head + b" " * (40 << 20) + b"<sheetData/></worksheet>")
    assert len(bomb) < 200_000  # 40 MB of XML in a small upload
    for path in ("/reviews/import", "/households/import", "/applications/import"):
        r = client.post(f"{API}{path}", files={"file": ("r.xlsx", bomb)}, headers=sup)
        if r.status_code == 202:  # an import job (run in the background): its report carries the refusal
            job = client.get(f"{API}/jobs/{r.json()['id']}", headers=sup).json()
            assert job["status"] == "failed" and job["result"]["code"] == "import_unpacked_too_large", job
            continue
        body = _problem(r, 422)
        assert body["code"] == "import_unpacked_too_large", body


def test_an_xlsx_with_a_damaged_sheet_is_a_clear_error(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    from services.errors import ValidationFailed
    from services.household_reader import read_table

    good = _xlsx_with_sheet(
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>'
    )
    # flip bytes inside the sheet's compressed data: the part no longer inflates (or fails its CRC)
    at = good.index(b"xl/worksheets/sheet1.xml") + 40
    damaged = good[:at] + bytes(b ^ 0x5A for b in good[at : at + 24]) + good[at + 24 :]
    try:
        rows = list(read_table(damaged, "r.xlsx"))
    except ValidationFailed as exc:
        assert exc.code == "import_format"
    else:  # the flipped bytes happened to fall outside what the reader uses
        assert rows is not None
