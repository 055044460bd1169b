"""The fault campaign (issue 12): inspectors visit while the bot, the store and the sandbox are killed.

Real processes: `feijian serve` on a fresh database (SQLite file, or a PostgreSQL database made for
the test), `feijian sandbox` with its own state file, and the bot polling it. A small demo county is
seeded with a dispatched round; three scripted inspectors (one per team) play home visits through
the sandbox. A driver injects, at moments drawn from a printed seed (`FEIJIAN_FAULT_SEED` replays
one): kill -9 of the bot, of the store, `pg_terminate_backend` of the test database's connections
(PostgreSQL only), a sandbox restart, unparseable updates, and one inspector offline for a while and
then released in a burst. Then every inspector finishes its visit and the store is read directly.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col, func, select

from checklists import load_checklist
from media.geo import to_wgs84
from models.db import make_engine, unit_of_work
from models.evidence import Evidence
from models.household import Household
from models.migrate import upgrade
from models.round import Assignment, RoundTeam, TeamMember
from models.user import User
from models.visit import Visit
from sandbox import SandboxClient, make_token
from services import demo, telegram
from services.config import get_settings
from services.context import Actor
from services.rounds import local_today
from tests.conftest import IN_CI, PG_ADMIN_URL
from tests.faults.conftest import REPORT
from tests.faults.inspector import Control, Inspector
from tests.faults.procs import Proc, bot_proc, sandbox_proc, store_proc, until

pytestmark = pytest.mark.faults

INSPECTORS = 3
FAULT_WINDOW_S = 25.0
PG_DB = f"feijian_faults_{os.getpid()}"
POISON_POLL = {"poll": {"id": "77", "question": "今天几号？"}}  # lacks fields PTB requires


def _poison_message(uid: int, n: int) -> dict[str, Any]:
    return {
        "message": {
            "message_id": 10_000 + n,
            "date": int(time.time()),
            "chat": {"id": uid, "type": "private", "first_name": "坏消息"},
            "from": {"id": uid, "is_bot": False, "first_name": "坏消息"},
            "poll": {"id": f"p{n}", "question": "？"},
        }
    }


def _database(kind: str, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{PG_DB}"'))
    except OperationalError as exc:
        msg = f"PostgreSQL fault campaign skipped: cannot reach {PG_ADMIN_URL} ({type(exc).__name__})"
        if IN_CI:
            pytest.fail(msg + " — under CI the PostgreSQL pass is required", pytrace=False)
        pytest.skip(msg)
    finally:
        admin.dispose()
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_DB}"


def _terminate_backends() -> int:
    """Cuts every connection to the campaign's own database (never another database)."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": PG_DB},
            ).all()
        return len(rows)
    finally:
        admin.dispose()


def _drop_pg() -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{PG_DB}" WITH (FORCE)'))
    finally:
        admin.dispose()


@dataclass
class Campaign:
    """The running world: processes, the inspectors' logins and tasks, the driver's counts."""

    kind: str
    url: str
    engine: Engine
    store: Proc
    sandbox: Proc
    bot: Proc
    token: str
    seed: int
    ctl: Control = field(default_factory=Control)
    faults: Counter[str] = field(default_factory=Counter)
    inspectors: list[Inspector] = field(default_factory=list)
    picked: list[tuple[str, Places]] = field(default_factory=list)
    codes: dict[str, str] = field(default_factory=dict)
    poison_uid: int = 0
    poison_replies: int = 0

    @property
    def sandbox_url(self) -> str:
        """The sandbox's base URL (the same port across restarts)."""
        return self.sandbox.url


Places = dict[str, tuple[float, float]]  # assignment id -> where its household lives (WGS-84)


def _seed(engine: Engine, seed: int) -> tuple[list[tuple[str, Places]], str, dict[str, str]]:
    """A small demo county with today's visits dispatched: (login, places) of one inspector per team,
    the bot's service token and the inspectors' invite codes."""
    with unit_of_work(engine) as s:
        report = demo.seed(s, 60, 2 * INSPECTORS, seed)
        assert report.households == 60
    with unit_of_work(engine) as s:
        demo.seed_round(s, local_today(get_settings()))
    picked: list[tuple[str, Places]] = []
    with unit_of_work(engine) as s:
        teams = s.exec(select(RoundTeam).order_by(col(RoundTeam.number))).all()
        for team in teams:
            member = s.exec(
                select(User)
                .join(TeamMember, col(TeamMember.user_id) == col(User.id))
                .where(TeamMember.team_id == team.id)
                .order_by(col(User.login))
            ).first()
            rows = s.exec(
                select(Assignment, Household)
                .join(Household, col(Household.id) == col(Assignment.household_id))
                .where(Assignment.team_id == team.id, col(Assignment.released_at).is_not(None))
            ).all()
            places: Places = {}
            for a, h in rows:
                if h.lat is not None and h.lon is not None:
                    places[str(a.id)] = to_wgs84(h.lat, h.lon, h.datum.value if h.datum else "wgs84")
            if member is not None and places:
                picked.append((member.login, places))
        token, _ = telegram.issue_bot_token(s, Actor.system("faults"))
        codes = demo.demo_invites(s, [login for login, _ in picked[:INSPECTORS]])
    return picked[:INSPECTORS], token, codes


@pytest.fixture(params=["sqlite", "postgresql"])
def campaign(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Campaign]:
    """The store, the sandbox and the bot as real processes over a freshly seeded database."""
    kind = request.param
    url = _database(kind, tmp_path)
    upgrade(url)
    engine = make_engine(url)
    seed = int(os.environ.get("FEIJIAN_FAULT_SEED") or random.SystemRandom().randrange(1, 1_000_000))
    print(f"\nfault campaign [{kind}] seed {seed} (replay: FEIJIAN_FAULT_SEED={seed})")
    picked, store_token, codes = _seed(engine, seed)
    store = store_proc(tmp_path, url, tmp_path / "media").start(wait=False)
    sandbox = sandbox_proc(tmp_path, tmp_path / "sandbox.sqlite").start(wait=False)
    store.ready()
    sandbox.ready()
    token = make_token()
    with SandboxClient(sandbox.url) as client:
        client.register_bot(token)
    bot = bot_proc(tmp_path, token, sandbox.url, store.url, store_token).start()
    c = Campaign(kind, url, engine, store, sandbox, bot, token, seed)
    c.picked, c.codes = picked, codes
    try:
        yield c
    finally:
        for p in (bot, sandbox, store):
            p.kill9()
        engine.dispose()
        if kind == "postgresql":
            _drop_pg()


def _bind(c: Campaign, seed: int) -> None:
    """Each picked inspector signs up with /start CODE in a chat of their own."""
    with SandboxClient(c.sandbox_url, bot=c.token) as client:
        for n, (login, places) in enumerate(c.picked):
            uid = client.user(first_name=f"检查员{n + 1}").id
            client.send_text(uid, f"/start {c.codes[login]}")
            reply = client.wait_for_message(uid, lambda m: "欢迎" in m.text, timeout=30)
            assert "欢迎" in reply.text
            c.inspectors.append(
                Inspector(
                    login, uid, lambda: c.sandbox_url, c.token, places, c.ctl, seed * 10 + n, n % 2 == 1
                )
            )
        c.poison_uid = client.user(first_name="坏消息").id


def _inject(c: Campaign, what: str, rng: random.Random) -> None:
    """One fault."""
    if what == "bot_kill":
        c.bot.kill9()
        c.bot.start()
    elif what == "store_kill":
        c.store.kill9()
        time.sleep(rng.uniform(0.2, 1.5))  # the store stays down for a moment
        c.store.start()
    elif what == "pg_terminate":
        _terminate_backends()
    elif what == "sandbox_restart":
        c.ctl.sandbox_epoch += 1
        c.sandbox.kill9()
        c.sandbox.start()
        c.ctl.sandbox_epoch += 1
    elif what == "poison":
        with SandboxClient(c.sandbox_url, bot=c.token) as client:
            since = client.chat(c.poison_uid).cursor
            client.inject(POISON_POLL)
            client.inject(_poison_message(c.poison_uid, c.faults["poison"]))
            # the chat the unreadable message came from is told to try again (counted once more at the end)
            client.wait_for_message(c.poison_uid, lambda m: "请重试" in m.text, timeout=60, since=since)
            c.poison_replies += 1
    elif what == "offline":
        busy = [i for i in c.inspectors if i.is_alive() and i.aid is not None]
        if not busy:
            return
        ins = rng.choice(busy)
        done = c.ctl.offline_done.setdefault(ins.uid, threading.Event())
        done.clear()
        c.ctl.offline.setdefault(ins.uid, threading.Event()).set()
        done.wait(30)
    c.faults[what] += 1


def _drive(c: Campaign, rng: random.Random) -> None:
    kinds = ["bot_kill", "store_kill", "sandbox_restart", "poison", "offline"]
    if c.kind == "postgresql":
        kinds.append("pg_terminate")
    plan = kinds + rng.choices([k for k in kinds if k != "offline"], k=2)
    rng.shuffle(plan)
    end = time.monotonic() + FAULT_WINDOW_S
    for what in plan:
        time.sleep(rng.uniform(1.0, max(1.0, (end - time.monotonic()) / (len(plan) - c.faults.total()))))
        _inject(c, what, rng)


def _store_state(c: Campaign) -> tuple[Counter[str], dict[str, Visit], Counter[str]]:
    with unit_of_work(c.engine) as s:
        shas = Counter(
            dict(s.exec(select(Evidence.sha256, func.count()).group_by(col(Evidence.sha256))).all())
        )
        visits = {}
        per_assignment: Counter[str] = Counter()
        for v in s.exec(select(Visit).order_by(col(Visit.started_at))).all():
            s.expunge(v)
            visits[str(v.assignment_id)] = v
            per_assignment[str(v.assignment_id)] += 1
    return shas, visits, per_assignment


def _check(c: Campaign) -> dict[str, Any]:
    labels = {st.id: st.label.get("zh-CN") for st in load_checklist("home_visit").steps}
    photos = {sha: aid for ins in c.inspectors for sha, aid in ins.ledger.photos.items()}
    visits = {aid: v for ins in c.inspectors for aid, v in ins.ledger.visits.items()}
    submitted = {aid for aid, v in visits.items() if v.submitted}
    unacked = {aid for aid, v in visits.items() if v.submit_unacked and not v.submitted}

    def settled() -> bool:
        shas, stored, _ = _store_state(c)
        return all(shas[sha] for sha in photos) and all(
            aid in stored and stored[aid].status == "submitted" for aid in submitted
        )

    try:
        until(settled, 40, "the store never caught up", step=0.3)
    except AssertionError:
        pass  # counted as lost below
    shas, stored, per_assignment = _store_state(c)
    lost: list[str] = [f"photo {sha[:12]} of {aid}" for sha, aid in photos.items() if shas[sha] == 0]
    dups: list[str] = [f"photo {sha[:12]} stored {shas[sha]}×" for sha in photos if shas[sha] > 1]
    # each assignment is visited once by one inspector: a second visit row would be a repeated start
    dups += [f"assignment {aid} has {n} visits" for aid, n in per_assignment.items() if n > 1]
    answers = 0
    for aid, led in visits.items():
        v = stored.get(aid)
        if led.open_at_calm and not led.resumed and not (v is not None and v.status == "submitted"):
            lost.append(f"visit {aid} was open when the faults stopped and /visit did not resume it")
        landed = v is not None and v.status == "submitted"
        if not led.submitted and not (led.submit_unacked and landed):
            lost.append(f"visit {aid} never submitted")  # after the faults every inspector finishes
            continue
        if v is None or v.status != "submitted":
            lost.append(f"visit {aid} acknowledged as submitted but not in the store")
            continue
        ids = [a["step_id"] for a in v.answers]
        keys = [(a["step_id"], a.get("item")) for a in v.answers]  # a repeat's members are distinct
        dups += [f"answer {s} of {aid} stored {n}×" for (s, _), n in Counter(keys).items() if n > 1]
        for n, label in sorted(led.labels.items()):
            if n > led.acked:
                continue
            answers += 1
            if n > len(ids) or labels.get(ids[n - 1]) != label:
                lost.append(
                    f"answer {n} ({label}) of {aid}: store has {ids[n - 1] if n <= len(ids) else None}"
                )
    dups += [d for ins in c.inspectors for d in ins.duplicates()]
    resumed = sum(1 for v in visits.values() if v.resumed)
    return {
        "lost": lost,
        "dups": dups,
        "answers": answers,
        "photos": len(photos),
        "submitted": len(submitted),
        "unacked": len(unacked),
        "resumed": resumed,
    }


def test_nothing_acknowledged_is_lost_or_answered_twice_under_faults(campaign: Campaign) -> None:
    c = campaign
    seed = c.seed
    rng = random.Random(seed)
    _bind(c, seed)
    for ins in c.inspectors:
        ins.start()
    _drive(c, rng)
    c.ctl.calm.set()
    deadline = time.monotonic() + 120
    for ins in c.inspectors:
        ins.join(max(1.0, deadline - time.monotonic()))
    stuck = [ins.login for ins in c.inspectors if ins.is_alive()]
    errors = [f"{ins.login}: {ins.error!r}" for ins in c.inspectors if ins.error is not None]
    poison_sent = c.faults["poison"]
    result = _check(c)
    updates = sum(ins.ledger.updates for ins in c.inspectors) + 2 * poison_sent
    kinds = " ".join(f"{k}={n}" for k, n in sorted(c.faults.items()))
    line = (
        f"fault campaign [{c.kind}] seed={seed}: faults {c.faults.total()} ({kinds}); updates={updates};"
        f" acknowledged answers={result['answers']} photos={result['photos']}"
        f" visits submitted={result['submitted']} (confirmation not seen {result['unacked']})"
        f" resumed={result['resumed']};"
        f" duplicates found={len(result['dups'])}; lost={len(result['lost'])}"
    )
    print(line)
    REPORT.append(line)
    logs = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in (c.bot, c.store))
    for ins in c.inspectors:  # where a stuck inspector was: the bot's last messages in its chat
        if ins.is_alive():
            last = [m.text[:160] for _, m in sorted(ins.log.items()) if m.from_bot][-3:]
            logs += f"\n--- {ins.login} last saw\n" + "\n~~\n".join(last)
    assert not errors and not stuck, f"{errors} stuck={stuck}\n{logs}"
    assert result["lost"] == [], "\n".join([*result["lost"], logs])
    assert result["dups"] == [], result["dups"]
    assert c.poison_replies == poison_sent  # each unreadable message was answered
    if c.faults["sandbox_restart"] == 0:  # (a restarted sandbox forgets its messages)
        with SandboxClient(c.sandbox_url, bot=c.token) as client:
            retries = [m for m in client.messages(c.poison_uid) if "请重试" in m.text]
        assert len(retries) == poison_sent, "an unreadable message was answered twice"
    # not vacuous: every inspector finished a visit, and every visit takes at least one photo
    assert result["submitted"] >= len(c.inspectors) and result["photos"] >= len(c.inspectors)
