"""POST /regions/load: an admin uploads a region file; the report per level comes back, bad files are 422."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from models.region import Region
from models.user import Role
from services import regions
from services.context import Actor
from tests.conftest import auth_headers
from tests.factories import make_user

DATA = Path(__file__).resolve().parent.parent / "data" / "regions"


def test_an_admin_loads_a_12_digit_tree_over_the_packaged_set(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    regions.load_packaged(session, Actor.system("test"))
    make_user(session, "boss", Role.admin)
    headers = auth_headers(client, "boss") | {"Accept-Language": "en"}
    body = (DATA / "tree_12digit_excerpt.json").read_bytes()
    r = client.post(
        "/api/v1/regions/load?edition=2023",
        headers=headers,
        files={"file": ("r.bin", body, "application/json")},
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["shape"] == "tree" and report["placeholders"] == ["441900"]
    assert report["levels"]["county"] == {"added": 2, "renamed": 0, "unchanged": 1, "skipped": {}}
    assert (report["added"], report["unchanged"], report["skipped"]) == (10, 5, 0)
    session.expire_all()
    assert session.get(Region, "440106") is not None and session.get(Region, "440106000000") is None


def test_skips_carry_their_reason_in_the_callers_language(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "boss", Role.admin)
    headers = auth_headers(client, "boss")
    body = "code,name\n15,内蒙古自治区\n810000,香港特别行政区\n".encode("gb18030")
    r = client.post("/api/v1/regions/load", headers=headers, files={"file": ("r.csv", body, "text/csv")})
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["notes"] == ["region_note_gb18030"]
    assert report["skips"][0]["reason"] == "region_skip_hmt" and "香港" in report["skips"][0]["message"]
    assert report["levels"]["province"] == {
        "added": 1,
        "renamed": 0,
        "unchanged": 0,
        "skipped": {"region_skip_hmt": 1},
    }


def test_bad_files_are_problems_and_only_admins_load(client, session: Session) -> None:  # type: ignore[no-untyped-def]
    make_user(session, "boss", Role.admin)
    make_user(session, "sup", Role.supervisor, scope_code="150422")
    admin = auth_headers(client, "boss") | {"Accept-Language": "en"}
    for body in (b"", b"hello world", b"{nope", b"[1,2]"):
        r = client.post("/api/v1/regions/load", headers=admin, files={"file": ("x.csv", body, "text/csv")})
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert "Accepted shapes" in r.json()["detail"]
    sup = auth_headers(client, "sup")
    r = client.post(
        "/api/v1/regions/load", headers=sup, files={"file": ("x.csv", b"code,name\n15,x\n", "text/csv")}
    )
    assert r.status_code == 403
