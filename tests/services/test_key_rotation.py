"""Rotating the personal-data key: reads and lookups under both keys, interrupted and resumed."""

from __future__ import annotations

import base64
import random
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlmodel import Session, col, select

from contracts.cadres import CadreIn
from models.audit import AuditEvent
from models.household import Household, HouseholdMember
from models.round import RoundSample
from services import cadres, key_rotation, round_teams
from services.cipher import get_cipher
from services.config import get_settings
from services.context import Actor
from services.households import HouseholdFilter, list_households, to_public
from services.pii import PiiCipher, PiiError, PiiKeyring
from tests.factories import VILLAGE, ensure_regions, make_household, make_id, make_user
from tests.round_helpers import actor_of, drawn_round, inspectors, populate, supervisor

KEY_A = b"A" * 32
KEY_B = b"B" * 32
ADMIN = Actor.system("test")


def b64(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., PiiKeyring]]:
    """Switches the process's PII keys (current, then old ones) as an operator would in the env."""

    def apply(current: bytes, *old: bytes) -> PiiKeyring:
        monkeypatch.setenv("FEIJIAN_PII_KEY", b64(current))
        monkeypatch.setenv("FEIJIAN_PII_OLD_KEYS", ",".join(b64(k) for k in old))
        get_settings.cache_clear()
        return get_cipher()

    yield apply
    get_settings.cache_clear()


def same_session(session: Session) -> Callable[[], AbstractContextManager[Session]]:
    """Batches commit the test's savepoint; the test's outer transaction still rolls everything back."""

    @contextmanager
    def opened() -> Iterator[Session]:
        yield session

    return opened


def all_tokens(session: Session) -> list[str]:
    out: list[str] = []
    for h in session.exec(select(Household)).all():
        out += [t for t in (h.head_id_enc, h.phone_enc, h.bank_enc) if t]
    out += [m.id_enc for m in session.exec(select(HouseholdMember)).all() if m.id_enc]
    return out


def seed(session: Session, n: int) -> dict[str, str]:
    """n households under the current key, plus one written in the legacy v1 format; register → ID."""
    ids: dict[str, str] = {}
    for i in range(n):
        idn = make_id(random.Random(i))
        make_household(session, f"KR{i:03d}", id_number=idn, phone=f"1381234{i:04d}")
        ids[f"KR{i:03d}"] = idn
    legacy = PiiCipher(PiiCipher.from_key(KEY_A).enc_key, PiiCipher.from_key(KEY_A).mac_key)  # no key id
    h = session.exec(select(Household).where(Household.register_no == "KR000")).one()
    h.head_id_enc = legacy.encrypt(ids["KR000"])
    assert h.head_id_enc and h.head_id_enc.startswith("v1:")
    session.add(h)
    session.flush()
    return ids


def test_tokens_name_their_key_and_legacy_tokens_are_read() -> None:
    ring = PiiKeyring.from_keys(KEY_B, (KEY_A,))
    a, b = PiiCipher.from_key(KEY_A), PiiCipher.from_key(KEY_B)
    token = a.encrypt("13812345678")
    assert token and token.startswith(f"v2:{a.key_id}:") and a.key_id != b.key_id
    legacy = PiiCipher(a.enc_key, a.mac_key).encrypt("13812345678")
    assert ring.decrypt(token) == ring.decrypt(legacy) == "13812345678"
    assert ring.lookup_hashes("X") == [b.lookup_hash("X"), a.lookup_hash("X")]
    with pytest.raises(PiiError, match=a.key_id):
        PiiKeyring.from_keys(KEY_B).decrypt(token)  # old key dropped too early: named, not guessed


def test_rotation_interrupted_and_resumed(session: Session, use_keys: Callable[..., PiiKeyring]) -> None:
    use_keys(KEY_A)
    ids = seed(session, 5)
    member_id = make_id(random.Random(99))
    h1 = session.exec(select(Household).where(Household.register_no == "KR001")).one()
    ring_a = get_cipher()
    session.add(
        HouseholdMember(
            household_id=h1.id,
            name="李四",
            relation="子",
            id_enc=ring_a.encrypt(member_id),
            id_hash=ring_a.lookup_hash(member_id),
            position=1,
        )
    )
    # relatives declared under key A: one in the register (a member), one nobody in the register
    matched = make_user(session, "rel-matched", relative_id_hashes=[ring_a.lookup_hash(member_id)])
    nobody = ring_a.lookup_hash(make_id(random.Random(7)))
    stray = make_user(session, "rel-stray", relative_id_hashes=[nobody])
    session.flush()
    cadre_id = make_id(random.Random(101))
    ensure_regions(session)
    cadre = cadres.declare(
        session,
        ADMIN,
        CadreIn(name="干部", id_number=cadre_id, unit="镇政府", post="民政助理", township_code=VILLAGE[:9]),
    )

    ring = use_keys(KEY_B, KEY_A)  # the operator sets the new key and keeps the old one for reading
    make_household(session, "KR100", id_number=(new_id := make_id(random.Random(100))))
    ids["KR100"] = new_id
    for reg, idn in ids.items():  # reads and lookups work for rows under either key
        page, _ = list_households(session, ADMIN, HouseholdFilter(id_number=idn))
        assert [p.register_no for p in page] == [reg]
        assert page[0].head_id_number and page[0].head_id_number[-4:] == idn[-4:]
    assert key_rotation.status(session, ring).remaining["household"] == 5

    def crash(table: str, n: int) -> None:
        raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        key_rotation.rotate(same_session(session), ADMIN, ring, batch_size=2, progress=crash)
    half = key_rotation.status(session, ring)
    assert half.remaining["household"] == 3  # the first batch is kept
    for reg, idn in ids.items():  # mid-rotation: both keys still read and found
        page, _ = list_households(session, ADMIN, HouseholdFilter(id_number=idn))
        assert [p.register_no for p in page] == [reg]

    seen: list[tuple[str, int]] = []
    report = key_rotation.rotate(
        same_session(session), ADMIN, ring, batch_size=2, progress=lambda t, n: seen.append((t, n))
    )
    assert report.rotated["household"] == 3 and report.rotated["household_member"] == 6
    assert report.unmatched_relatives == {"rel-stray": 1}
    final = key_rotation.status(session, ring)
    assert final.remaining == {
        "household": 0,
        "household_member": 0,
        "cadre": 0,
        "cadre_relative": 0,
        "app_user": 1,
    }
    session.refresh(cadre)
    assert cadre.id_hash == ring.lookup_hash(cadre_id) and cadre.id_enc.startswith(ring.prefix)
    assert final.unmatched_relatives == {"rel-stray": 1}
    session.refresh(matched)
    assert matched.relative_id_hashes == [ring.lookup_hash(member_id)]
    assert matched.relative_key_id == ring.key_id

    dropped = key_rotation.rotate(same_session(session), ADMIN, ring, drop_unmatched=True)
    assert dropped.dropped_relatives == 1 and key_rotation.status(session, ring).total == 0
    session.refresh(stray)
    assert stray.relative_id_hashes == [] and stray.relative_key_id == ring.key_id

    # no token under the old key remains: the new key alone reads everything, hashes are rebuilt
    only_b = use_keys(KEY_B)
    tokens = all_tokens(session)
    assert tokens and all(t.startswith(only_b.prefix) for t in tokens)
    for h in session.exec(select(Household)).all():
        assert h.head_id_hash == only_b.lookup_hash(ids[h.register_no])
        assert to_public(h).head_id_number is not None
        assert h.phone_hash == only_b.lookup_hash(only_b.decrypt(h.phone_enc))
    for reg, idn in ids.items():
        page, _ = list_households(session, ADMIN, HouseholdFilter(id_number=idn))
        assert [p.register_no for p in page] == [reg]
    events = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "pii.rotate")).all()
    assert len(events) >= 5  # one per batch (households, members) plus the users' pass
    text = repr([e.details for e in events])
    assert all(idn not in text for idn in ids.values()) and member_id not in text


def test_rotation_with_a_missing_old_key_names_the_row(
    session: Session, use_keys: Callable[..., PiiKeyring]
) -> None:
    use_keys(KEY_A)
    seed(session, 2)
    ring = use_keys(KEY_B)  # the old key was not kept
    with pytest.raises(key_rotation.RotationError, match="household"):
        key_rotation.rotate(same_session(session), ADMIN, ring)
    assert key_rotation.status(session, ring).remaining["household"] == 2


def test_declared_relatives_block_assignment_during_rotation(
    session: Session, use_keys: Callable[..., PiiKeyring]
) -> None:
    use_keys(KEY_A)
    households = populate(session)
    sup = actor_of(supervisor(session))
    users = inspectors(session, 6)
    r = drawn_round(session, sup)
    sampled = {s.household_id for s in session.exec(select(RoundSample).where(RoundSample.round_id == r.id))}
    target = next(h for h in households if h.id in sampled)
    head_id = get_cipher().decrypt(target.head_id_enc)
    ring = use_keys(KEY_B, KEY_A)  # the register is still under A; relatives are declared under B
    for u in users:
        u.relative_id_hashes = [ring.lookup_hash(head_id)]
        u.relative_key_id = ring.key_id
    session.flush()
    rep = round_teams.assign_round(session, sup, r.id)
    assert [u["household_id"] for u in rep.unassignable] == [str(target.id)]
