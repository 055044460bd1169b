from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.pii import (
    PiiCipher,
    PiiError,
    id_number_problem,
    mask_id,
    mask_phone,
)
from tests.factories import make_id

KEY = b"k" * 32


def test_encrypt_roundtrip_and_random_nonce() -> None:
    c = PiiCipher.from_key(KEY)
    a, b = c.encrypt("110101199003071234"), c.encrypt("110101199003071234")
    assert a != b and "1101011990" not in (a or "")
    assert c.decrypt(a) == "110101199003071234"


def test_wrong_key_or_tamper_is_refused() -> None:
    token = PiiCipher.from_key(KEY).encrypt("13812345678")
    with pytest.raises(PiiError):
        PiiCipher.from_key(b"x" * 32).decrypt(token)
    assert token is not None
    with pytest.raises(PiiError):
        PiiCipher.from_key(KEY).decrypt(token[:-4] + "AAAA")


def test_lookup_hash_is_keyed_and_normalised() -> None:
    c = PiiCipher.from_key(KEY)
    assert c.lookup_hash("11010119900307123x") == c.lookup_hash("11010119900307123X ")
    assert c.lookup_hash("1") != PiiCipher.from_key(b"y" * 32).lookup_hash("1")


def test_masks() -> None:
    assert mask_id("110101199003071234") == "110101********1234"
    assert mask_phone("13812345678") == "138****5678"


def test_id_rules() -> None:
    assert id_number_problem("11010519491231002X") is None  # published GB 11643 example
    assert id_number_problem("110105194912310021") == "id_checksum"
    assert id_number_problem("1101051949123100") == "id_format"
    assert id_number_problem("110105194913310028") in ("id_checksum", "id_birthdate")


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_ids_are_valid(seed: int) -> None:
    assert id_number_problem(make_id(random.Random(seed))) is None
