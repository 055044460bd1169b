"""The console in Debian's Chromium: sign in, the dashboard, a draw meeting and a visit review, at
desktop and phone widths; with FEIJIAN_CONSOLE_SCREENSHOTS=docs/img it refreshes the README's pictures."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import Session, select

from contracts.cases import CaseEntry
from contracts.ledger import FixIn
from contracts.residents import ApplicationCreate, CaseCategory, CaseSource
from contracts.rounds import RoundCreate, SamplingParams
from contracts.visits import VisitStart
from contracts.vocab import Severity
from models.db import make_engine
from models.evidence import Evidence
from models.household import Household
from models.migrate import upgrade
from models.round import RoundSample
from models.user import User
from models.visit import Finding, Visit, VisitStatus
from services import (
    applications,
    audit,
    case_flow,
    crosschecks,
    evidence,
    findings_review,
    ledger,
    rounds,
    visits,
)
from services.cipher import get_cipher
from services.config import Settings
from services.context import Actor
from tests.bot.test_trainee_browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import make_id
from tests.ledger_helpers import finding
from tests.round_helpers import COUNTY, actor_of, drawn_round, inspectors, populate, supervisor
from tests.visit_helpers import jpeg_with_gps, released_assignment

# Screenshots go to a temporary folder unless FEIJIAN_CONSOLE_SCREENSHOTS names one (docs/img for the README).
SHOTS_ENV = "FEIJIAN_CONSOLE_SCREENSHOTS"
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 360, "height": 780}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(engine, settings: Settings) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with Session(engine, expire_on_commit=False) as session:
        homes = populate(session)
        sup = supervisor(session)
        team = inspectors(session, 6, with_password=2)
        actor = actor_of(sup)
        drawn_round(session, actor)
        today = rounds.local_today()
        draft = rounds.create_round(
            session,
            actor,
            RoundCreate(
                name="2026年冬季飞行检查",
                scope_code=COUNTY,
                window_start=today,
                window_end=today + timedelta(days=5),
                params=SamplingParams(sample_ratio=0.3, min_per_stratum=1),
            ),
        )
        h = homes[0]
        a = released_assignment(session, h, [team[0]])
        inspector = actor_of(team[0])
        v = visits.start_visit(session, inspector, VisitStart(assignment_id=a.id))
        assert h.lat is not None and h.lon is not None
        evidence.add_evidence(
            session, inspector, settings, v.id, jpeg_with_gps(h.lat, h.lon), "telegram_document", "door"
        )
        _finish_by_hand(session, v.id, h.lat, h.lon)
        ids = _ledger_items(session, settings, actor, homes, team[1])
        for label in ("desktop", "phone"):  # a 信访 letter per width, answered in the walk
            entry = CaseEntry(
                source=CaseSource.petition,
                category=CaseCategory.payment,
                text="来信反映<script>alert(1)</script>低保金两个月未到账",
                reporter_name="王五",
            )
            ids[f"case-{label}"] = str(case_flow.enter(session, settings, actor, entry).id)
        for i in range(60):  # more than one page of the audit log
            audit.record(session, actor, "console.test", "round", draft.id, n=i)
        application = applications.create(
            session,
            actor,
            ApplicationCreate(
                applicant_name="李四", id_number=make_id(), village_code=h.village_code, household_size=3
            ),
        )
        ids["application"] = str(application.id)
        closed = _closed_round_with_findings(session, actor, team[0].id)
        run_id = _crosscheck_run(session, actor, homes)
        session.commit()
        return {"draft": str(draft.id), "visit": str(v.id), "closed": str(closed), "run": str(run_id)} | ids


def _closed_round_with_findings(session: Session, actor, inspector_id: uuid.UUID) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A second round, every drawn household visited, a third with a serious finding, then closed."""
    r = drawn_round(session, actor)
    samples = session.exec(select(RoundSample).where(RoundSample.round_id == r.id)).all()
    for i, s in enumerate(samples):
        session.add(
            Visit(
                household_id=s.household_id,
                inspector_id=inspector_id,
                round_id=r.id,
                status=VisitStatus.submitted,
            )
        )
        if i % 3 == 0:
            session.add(
                Finding(
                    household_id=s.household_id,
                    round_id=r.id,
                    rule_id="income_over",
                    category="not_eligible",
                    severity=Severity.high,
                    message_zh="收入超标",
                    message_en="income over",
                )
            )
    session.flush()
    rounds.close_round(session, actor, r.id)
    return r.id


def _crosscheck_run(session: Session, actor, homes) -> uuid.UUID:  # type: ignore[no-untyped-def]
    """A month's death records naming two registered heads."""
    today = rounds.local_today()
    died = date(today.year - 1, 6, 1).isoformat()
    lines = ["姓名,身份证号,死亡日期"]
    for h in homes[:2]:
        lines.append(f"{h.head_name},{get_cipher().decrypt(h.head_id_enc)},{died}")
    data = ("\n".join(lines) + "\n").encode("gb18030")
    report = crosschecks.import_deaths(
        session, actor, data, "殡葬数据.csv", f"{today.year}-{today.month:02d}"
    )
    assert report.run_id is not None
    return report.run_id


def _photo_visit(
    session: Session, settings: Settings, h: Household, inspector: User
) -> tuple[Visit, Evidence]:
    """A finished visit of the household with one real photo (its thumbnail is in the media store)."""
    a = released_assignment(session, h, [inspector])
    who = actor_of(inspector)
    v = visits.start_visit(session, who, VisitStart(assignment_id=a.id))
    assert h.lat is not None and h.lon is not None
    photo = jpeg_with_gps(h.lat, h.lon, seed=h.id.int % 100_000)  # each household its own picture
    ev = evidence.add_evidence(session, who, settings, v.id, photo, "telegram_document", "door")
    _finish_by_hand(session, v.id, h.lat, h.lon)
    return v, ev


def _ledger_items(
    session: Session, settings: Settings, actor: Actor, homes: list[Household], inspector: User
) -> dict[str, str]:
    """Per width: two items whose fix the first supervisor submitted (a second supervisor verifies
    one and returns the other) and a finished visit to send back."""
    supervisor(session, "sup2")
    out = {}
    for n, label in enumerate(("desktop", "phone")):
        for k, what in enumerate(("verify", "return")):
            h = homes[2 + 2 * n + k]
            item = findings_review.confirm(session, actor, finding(session, actor, h).id)
            _, ev = _photo_visit(session, settings, h, inspector)
            ledger.submit_fix(session, actor, item.id, FixIn(note="已停发并追回", evidence_ids=[ev.id]))
            out[f"{what}-{label}"] = str(item.id)
        v, _ = _photo_visit(session, settings, homes[8 + n], inspector)
        out[f"visit-{label}"] = str(v.id)
    return out


def _finish_by_hand(session: Session, visit_id: uuid.UUID, lat: float, lon: float) -> None:
    """Gives the visit a short live track, answers and quality flags, as a submitted visit has."""
    v = session.get(Visit, visit_id)
    assert v is not None
    start = datetime.now(UTC) - timedelta(minutes=20)
    v.track = [
        {"lat": lat + i * 0.0002, "lon": lon + i * 0.0003, "at": (start + timedelta(minutes=i)).isoformat()}
        for i in range(8)
    ]
    v.checkin = {"lat": lat + 0.0001, "lon": lon + 0.0001}
    v.answers = [
        {"step_id": "door", "value": "户主在家"},
        {"step_id": "members", "value": "3 人"},
        {"step_id": "income", "value": "无固定收入"},
    ]
    v.step_seconds = {"door": 45.0, "members": 120.0, "income": 30.0}
    v.flags = [{"code": "rushed"}, {"code": "track_gap"}]
    v.status = VisitStatus.submitted
    v.started_at = start
    v.finished_at = start + timedelta(minutes=8)
    session.add(v)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """The real app on a file database, served by uvicorn on a free loopback port."""
    from api.app import create_app

    url = f"sqlite:///{tmp_path}/console.sqlite"
    settings = Settings(env="test", database_url=url, media_dir=tmp_path / "media", release_every_s=0)
    upgrade(url)
    engine = make_engine(url)
    ids = _seed(engine, settings)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", ids
    finally:
        server.should_exit = True
        thread.join(10)
        engine.dispose()


@pytest.mark.browser
async def test_console_walkthrough_in_chromium(served: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")
    from playwright.async_api import async_playwright, expect

    base, ids = served
    shots = Path(os.environ.get(SHOTS_ENV) or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for label, viewport in WIDTHS.items():
                ctx = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
                page = await ctx.new_page()
                await page.goto(f"{base}/console/")
                await expect(page.locator("h1")).to_have_text("登录督查台")
                if label == "desktop":
                    await page.screenshot(path=str(shots / "console-login.png"))
                await page.locator("input[name=username]").fill("sup")
                await page.locator("input[name=password]").fill("secret-pass-1")
                await page.locator("button[type=submit]").click()
                await expect(page.locator("h1")).to_have_text("总览")
                await expect(page.locator("#chart-per-day canvas")).to_have_count(1)
                await page.screenshot(path=str(shots / f"console-dashboard-{label}.png"), full_page=True)

                # the draw meeting (once): commit, the witnesses' input, the draw and its verify link
                await page.goto(f"{base}/console/rounds/{ids['draft']}")
                if label == "desktop":
                    await page.get_by_role("button", name="提交承诺").click()
                    await page.locator("input[name=witness]").fill("6 2 5 3 1")
                    await page.screenshot(path=str(shots / "console-draw-meeting.png"), full_page=True)
                    await page.get_by_role("button", name="抽签").click()
                await expect(page.locator("#round-status")).to_have_text("已抽签")
                await expect(page.locator("#verify-link")).to_be_visible()
                await page.screenshot(path=str(shots / f"console-round-{label}.png"), full_page=True)

                # visit review: flags, photo with its verdict, the map without tiles
                await page.goto(f"{base}/console/visits/{ids['visit']}")
                await expect(page.locator("#visit-flags")).to_contain_text("用时过短")
                await expect(page.locator(".photos img")).to_have_count(1)
                await expect(page.locator("#visit-map .leaflet-interactive").first).to_be_visible()
                await page.locator(".photos img").scroll_into_view_if_needed()
                # the thumbnail really loads through the console's evidence route (lazy, so poll)
                await page.wait_for_function(
                    "() => { const i = document.querySelector('.photos img');"
                    " return i && i.complete && i.naturalWidth > 0; }",
                    timeout=10_000,
                )
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"] + 1, (label, width)  # no sideways scrolling
                await page.screenshot(path=str(shots / f"console-visit-{label}.png"), full_page=True)

                # inspector quality: table and chart, each login linking to its visits
                await page.goto(f"{base}/console/quality")
                await expect(page.locator("#chart-quality canvas")).to_have_count(1)
                if label == "desktop":
                    await page.screenshot(path=str(shots / "console-quality.png"), full_page=True)

                # the audit log: the next page is appended in place (htmx), keyset-paged
                await page.goto(f"{base}/console/audit")
                await expect(page.locator("#audit-body tr")).to_have_count(50)
                await page.locator("#pager a").click()
                await expect(page.locator("#audit-body tr")).not_to_have_count(50)
                assert page.url.endswith("/console/audit")  # no navigation: rows were appended

                # cross-checks, a run's matches, the cadre registry and the review due list
                for path, marker in (
                    ("/console/crosschecks", "#runs-body a"),
                    (f"/console/crosschecks/runs/{ids['run']}", "#matches-body tr"),
                    ("/console/cadres", "#table-xlsx"),
                    ("/console/reviews", "#townships-body tr"),
                    ("/console/applications", "#applications-body a"),
                    (f"/console/applications/{ids['application']}", "#move-form"),
                ):
                    await page.goto(f"{base}{path}")
                    await expect(page.locator(marker).first).to_be_visible()
                    width = await page.evaluate("document.documentElement.scrollWidth")
                    assert width <= viewport["width"] + 1, (label, path, width)
                    if label == "desktop" and path == "/console/crosschecks":
                        await page.screenshot(path=str(shots / "console-crosschecks.png"), full_page=True)

                # a closed round's estimates: the table and the interval chart
                await page.goto(f"{base}/console/rounds/{ids['closed']}")
                await expect(page.locator("#estimates-body tr").first).to_be_visible()
                await expect(page.locator("#chart-estimates canvas")).to_have_count(1)
                if label == "desktop":
                    await page.locator("#estimates").scroll_into_view_if_needed()
                    await page.locator("#estimates").screenshot(path=str(shots / "console-estimates.png"))

                await _case_walk(page, base, ids[f"case-{label}"], viewport["width"])
                await _ledger_walk(page, base, ids, label, shots, viewport["width"])
                await ctx.close()
        finally:
            await browser.close()


async def _sign_in(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    from playwright.async_api import expect

    await page.goto(f"{base}/console/login")
    await page.locator("input[name=username]").fill(login)
    await page.locator("input[name=password]").fill("secret-pass-1")
    await page.locator("button[type=submit]").click()
    await expect(page.locator("h1")).to_have_text("总览")


async def _case_walk(page, base: str, case_id: str, width: int) -> None:  # type: ignore[no-untyped-def]
    """A complaint case: assigned to a unit, answered; the answer shows and the script stays text."""
    from playwright.async_api import expect

    await page.goto(f"{base}/console/cases")
    await page.locator(f"a[href='/console/cases/{case_id}']").click()
    await expect(page.locator("#case-text")).to_contain_text("<script>")  # shown as text, not run
    await page.locator("form[action$='/assign'] input[name=unit]").fill("林东镇民政办")
    await page.locator("form[action$='/assign'] button").click()
    await page.locator("form[action$='/answer'] textarea[name=text]").fill("经核查，已补发两个月低保金。")
    await page.locator("form[action$='/answer'] button").click()
    await expect(page.locator("#case-answer")).to_have_text("经核查，已补发两个月低保金。")
    assert await page.evaluate("document.documentElement.scrollWidth") <= width + 1


async def _ledger_walk(page, base: str, ids: dict[str, str], label: str, shots: Path, width: int) -> None:  # type: ignore[no-untyped-def]
    """The ledger board; the submitter's verify refused; another supervisor verifies one item and
    returns the other; a visit sent back for a revisit."""
    from playwright.async_api import expect

    await page.goto(f"{base}/console/")
    await expect(page.locator("#dash-ledger")).to_contain_text("已提交整改")
    await page.goto(f"{base}/console/ledger")
    await expect(page.locator(f"a[href='/console/ledger/{ids['verify-' + label]}']")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= width + 1
    await page.screenshot(path=str(shots / f"console-ledger-{label}.png"), full_page=True)
    await page.locator(f"a[href='/console/ledger/{ids['verify-' + label]}']").click()
    await page.locator("#verify-form button").click()
    await expect(page.locator("#refusal")).to_be_visible()  # four eyes: the submitter may not verify
    await expect(page.locator("#item-state")).to_have_text("已提交整改")
    if label == "desktop":
        await page.screenshot(path=str(shots / "console-ledger-refused.png"), full_page=True)

    await page.locator("form[action='/console/logout'] button").click()
    await _sign_in(page, base, "sup2")
    await page.goto(f"{base}/console/ledger/{ids['verify-' + label]}")
    await page.locator("#verify-form button").click()
    await expect(page.locator("#item-state")).to_have_text("已销号")
    await expect(page.locator("#history")).to_contain_text("核验销号")
    await page.screenshot(path=str(shots / f"console-ledger-item-{label}.png"), full_page=True)
    await page.goto(f"{base}/console/ledger/{ids['return-' + label]}")
    await page.locator("#return-form textarea[name=reason]").fill("佐证照片看不清，请补拍")
    await page.locator("#return-form button").click()
    await expect(page.locator("#item-state")).to_have_text("退回重改")
    await expect(page.locator("#history")).to_contain_text("佐证照片看不清")

    await page.goto(f"{base}/console/visits/{ids['visit-' + label]}")
    await page.locator("#send-back-form textarea[name=reason]").fill("未见户主本人，请补访")
    await page.locator("#send-back-form button").click()
    await expect(page.locator("#review-state")).to_have_text("已退回补访")
    if label == "desktop":
        await page.locator("#visit-review").screenshot(path=str(shots / "console-visit-review.png"))
