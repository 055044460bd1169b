"""Cross-checks over HTTP: multipart upload as a job, results listed region-scoped, problems as 4xx."""

from __future__ import annotations

import random
from datetime import date

from sqlmodel import Session

from models.user import Role
from tests.conftest import auth_headers
from tests.factories import make_household, make_id, make_user


def test_deaths_upload_job_and_listing(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    idn = make_id(random.Random(5), born=date(1944, 2, 3))
    make_household(session, "LB-API1", id_number=idn, size=1)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    make_user(session, "far", Role.supervisor, scope_code="150423")
    headers = auth_headers(client, "sup")
    today = date.today()
    month = f"{today.year}-{today.month:02d}"
    died = date(today.year - 1, 6, 1).isoformat()
    csv = f"姓名,身份证号,死亡日期\n张三,{idn},{died}\n".encode("gb18030")
    r = client.post(
        "/api/v1/crosschecks/deaths",
        headers=headers,
        files={"file": ("d.csv", csv, "text/csv")},
        data={"month": month},
    )
    assert r.status_code == 202, r.text
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["new_matches"] == 1 and job["result"]["ledger_items"] == 1
    matches = client.get("/api/v1/crosschecks/matches", headers=headers, params={"period": month}).json()
    assert len(matches) == 1 and matches[0]["outcome"] == "paid_after_death" and matches[0]["months"] >= 6
    assert idn not in str(matches)
    runs = client.get("/api/v1/crosschecks/runs", headers=headers).json()
    assert runs[0]["matched"] == 1
    assert client.get(f"/api/v1/crosschecks/runs/{runs[0]['id']}", headers=headers).status_code == 200
    far = auth_headers(client, "far")
    assert client.get("/api/v1/crosschecks/matches", headers=far).json() == []
    sources = client.get("/api/v1/crosschecks/sources", headers=headers).json()
    assert {s["source"] for s in sources} >= {"deaths", "vehicles", "pensions"}

    bad_month = client.post(
        "/api/v1/crosschecks/deaths",
        headers=headers,
        files={"file": ("d.csv", csv, "text/csv")},
        data={"month": "2026-13"},
    )
    assert bad_month.status_code == 422
    assert bad_month.headers["content-type"].startswith("application/problem+json")
    unknown = client.post(
        "/api/v1/crosschecks/registers/boats",
        headers=headers,
        files={"file": ("d.csv", csv, "text/csv")},
        data={"month": month},
    )
    assert unknown.status_code == 404
    empty = client.post(
        "/api/v1/crosschecks/deaths",
        headers=headers,
        files={"file": ("d.csv", b"", "text/csv")},
        data={"month": month},
    )
    assert empty.status_code == 422
    missing = client.post("/api/v1/crosschecks/deaths", headers=headers)
    assert missing.status_code == 422
