"""Perceptual reuse detection: survives re-encoding, resizing and light crops; not fooled by look-alikes."""

from __future__ import annotations

import io
import itertools
from datetime import date

import pytest
from PIL import Image

from media.hashing import (
    Candidate,
    PerceptualHash,
    distance,
    find_reuse,
    hamming,
    perceptual_hash,
    sha256_bytes,
    sha256_stream,
)
from media.pipeline import process
from tests.media.synth import crop_fraction, jpeg, room


def _decoded(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def _variants(img: Image.Image) -> dict[str, Image.Image]:
    w, h = img.size
    return {
        "reencode_q50": _decoded(jpeg(img, 50)),
        "webp": _decoded(_save(img, "WEBP")),
        "resize_half": img.resize((w // 2, h // 2)),
        "resize_quarter": img.resize((w // 4, h // 4), Image.Resampling.LANCZOS),
        "crop_3pct": crop_fraction(img, 0.03),
        "crop_5pct": crop_fraction(img, 0.05),
        "crop_right_5pct": img.crop((0, 0, int(w * 0.95), h)),
        "crop_top_left": img.crop((int(w * 0.03), int(h * 0.05), w, h)),
        "crop_resize_reencode": _decoded(jpeg(crop_fraction(img, 0.04).resize((500, 360)), 70)),
    }


def _save(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt)
    return buf.getvalue()


def test_sha256() -> None:
    assert sha256_bytes(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_stream(io.BytesIO(b"abc" * 1_000_000)) == sha256_bytes(b"abc" * 1_000_000)


def test_hash_format_roundtrip() -> None:
    ph = perceptual_hash(room(1))
    assert len(ph.phash) == 16 and len(ph.dhash) == 16
    assert PerceptualHash.parse(str(ph)) == ph
    assert PerceptualHash.parse(ph.phash).phash == ph.phash
    with pytest.raises(ValueError):
        PerceptualHash.parse("xyz")
    assert hamming("ff", "0f") == 4


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_reuse_detected_after_reencode_resize_and_light_crop(seed: int) -> None:
    original = room(seed)
    earlier = [Candidate(str(perceptual_hash(original)), "ev-1", "visit-A", "hh-1", date(2024, 3, 5))]
    for name, variant in _variants(original).items():
        matches = find_reuse(perceptual_hash(variant), earlier)
        assert matches, f"{name} not recognised as the same photo"
        assert matches[0].candidate.visit_id == "visit-A"
        # and the other way round: the variant was first, the original comes later
        back = find_reuse(perceptual_hash(original), [Candidate(str(perceptual_hash(variant)))])
        assert back, f"original not matched against earlier {name}"


def test_different_photos_of_similar_rooms_are_not_reuse() -> None:
    hashes = [perceptual_hash(room(seed)) for seed in range(100, 140)]
    for a, b in itertools.combinations(hashes, 2):
        dist, threshold = distance(a, b)
        assert dist > threshold
    assert not find_reuse(hashes[0], [Candidate(str(h)) for h in hashes[1:]])


def test_bare_phash_candidates_still_work() -> None:
    img = room(9)
    bare = Candidate(perceptual_hash(img).phash)
    assert find_reuse(perceptual_hash(img.resize((400, 300))), [bare])
    assert not find_reuse(perceptual_hash(room(10)), [bare])


def test_malformed_candidate_is_ignored() -> None:
    assert find_reuse(perceptual_hash(room(11)), [Candidate("not-a-hash")]) == []


def test_pipeline_reports_reuse_with_visit_and_date() -> None:
    original = jpeg(room(12, (1200, 900)))
    first = process(original)
    earlier = [Candidate(first.perceptual_hash, "ev-9", "V-2024-017", "hh-3", date(2024, 3, 5))]
    copy = jpeg(crop_fraction(_decoded(original), 0.04).resize((800, 600)), 75)
    report = process(copy, earlier=earlier, visit_id="V-2024-050", household_id="hh-8")
    assert report.verdict.reused is True and report.verdict.accepted is False
    reason = next(r for r in report.verdict.reasons if r.code == "reused")
    assert "V-2024-017" in reason.message["en"] and "2024-03-05" in reason.message["en"]
    assert "V-2024-017" in reason.message["zh-CN"] and "2024-03-05" in reason.message["zh-CN"]
    # the same photo sent twice within one visit is a duplicate, not reuse
    again = process(copy, earlier=earlier, visit_id="V-2024-017", household_id="hh-3")
    assert again.verdict.reused is False
