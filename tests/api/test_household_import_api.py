from __future__ import annotations

import random

from sqlmodel import Session

from models.user import Role
from tests.conftest import auth_headers
from tests.factories import VILLAGE, ensure_regions, make_id, make_user


def test_import_job_via_api(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    ensure_regions(session, VILLAGE)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    headers = auth_headers(client, "sup")
    idn = make_id(random.Random(3))
    csv = f"低保证号,户主姓名,身份证号,所属村(居),保障类别\nLB77,张三,{idn},{VILLAGE},特困\n".encode()
    r = client.post("/api/v1/households/import", headers=headers, files={"file": ("r.csv", csv, "text/csv")})
    assert r.status_code == 202, r.text
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded" and job["result"]["created"] == 1
    wrong = idn[:17] + ("1" if idn[17] != "1" else "2")
    bad = f"低保证号,户主姓名,身份证号,所属村(居),保障类别\nLB78,张三,{wrong},{VILLAGE},特困\n".encode()
    r = client.post("/api/v1/households/import", headers=headers, files={"file": ("r.csv", bad, "text/csv")})
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()
    assert job["status"] == "failed" and job["result"]["report"]["errors"][0]["row"] == 2
    empty = client.post(
        "/api/v1/households/import", headers=headers, files={"file": ("r.csv", b"", "text/csv")}
    )
    assert empty.status_code == 422 and empty.headers["content-type"].startswith("application/problem+json")
    missing = client.post("/api/v1/households/import", headers=headers)
    assert missing.status_code == 422


def test_large_file_job_via_api_parses_in_a_second_process(client, session: Session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from services import household_import, household_parse

    calls: list[str] = []
    real = household_import.parsed_batches

    def spy(*args):  # type: ignore[no-untyped-def]
        calls.append(args[1])
        return real(*args)

    monkeypatch.setattr(household_parse, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(household_parse, "BATCH_ROWS", 2)
    monkeypatch.setattr(household_import, "parsed_batches", spy)
    ensure_regions(session, VILLAGE)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    headers = auth_headers(client, "sup")
    rng = random.Random(4)
    rows = "".join(f"LB9{i},张三,{make_id(rng)},{VILLAGE},特困\n" for i in range(7))
    csv = f"低保证号,户主姓名,身份证号,所属村(居),保障类别\n{rows}".encode()
    r = client.post(
        "/api/v1/households/import", headers=headers, files={"file": ("big.csv", csv, "text/csv")}
    )
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()
    assert job["status"] == "succeeded" and job["result"]["created"] == 7
    bad = csv + f"LB99,张三,110101199003071230,{VILLAGE},特困\n".encode()
    r = client.post(
        "/api/v1/households/import", headers=headers, files={"file": ("big.csv", bad, "text/csv")}
    )
    job = client.get(f"/api/v1/jobs/{r.json()['id']}", headers=headers).json()
    assert job["status"] == "failed" and job["result"]["report"]["errors"][0]["row"] == 9
    assert calls == ["big.csv", "big.csv"]
