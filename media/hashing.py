"""Content hash (SHA-256) and perceptual hash for reuse detection.

Perceptual hash: ``imagehash.phash`` (64-bit DCT) paired with ``imagehash.dhash`` (64-bit gradient),
both on a 128-px greyscale copy of the orientation-corrected picture. Re-encoding and resizing move
them by a few bits; cropping moves them much more, so each picture is also hashed at a few crops
(centre 3/6/9 %, 6 % off two adjacent edges, 10 % off one edge). Two pictures are compared as
min over (full hash of one, any crop of the other) of ``phash distance + dhash distance``.

Threshold ``REUSE_THRESHOLD`` = 20 of 128 bits. Measured on generated look-alike rooms
(tests/media): re-encode / resize <= 3, a 5-8 % crop <= 9, a one-sided 5 % crop <= 15, while 4950
pairs of different rooms never came closer than 27. A bare 16-hex pHash (no dHash, no crops) is
compared alone with ``PHASH_ONLY_THRESHOLD`` = 10 of 64 bits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import BinaryIO, Final

import imagehash
from PIL import Image

REUSE_THRESHOLD: Final = 20  # pHash + dHash Hamming distance (of 128 bits)
PHASH_ONLY_THRESHOLD: Final = 10  # pHash Hamming distance (of 64 bits) when no dHash is known
HASH_SIDE: Final = 128
_CHUNK: Final = 1024 * 1024
_PAIR_LEN: Final = 32  # 16 hex pHash + 16 hex dHash


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def sha256_stream(stream: BinaryIO) -> str:
    """Hex SHA-256 of a stream read to its end in chunks."""
    h = hashlib.sha256()
    while chunk := stream.read(_CHUNK):
        h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class PerceptualHash:
    """pHash+dHash pairs of one picture: the full frame first, then its crops."""

    pairs: tuple[tuple[str, str], ...]

    @property
    def phash(self) -> str:
        """The full-frame pHash (16 hex digits)."""
        return self.pairs[0][0]

    @property
    def dhash(self) -> str:
        """The full-frame dHash (16 hex digits, empty when unknown)."""
        return self.pairs[0][1]

    def __str__(self) -> str:
        return ",".join(p + d for p, d in self.pairs)

    @classmethod
    def parse(cls, text: str) -> PerceptualHash:
        """Parse ``str(PerceptualHash)``, or a bare 16-hex pHash."""
        pairs: list[tuple[str, str]] = []
        for part in text.strip().lower().split(","):
            if len(part) == _PAIR_LEN:
                pairs.append((part[:16], part[16:]))
            elif len(part) == 16:
                pairs.append((part, ""))
            else:
                raise ValueError(f"not a perceptual hash: {part!r}")
            int(part, 16)
        if not pairs:
            raise ValueError("empty perceptual hash")
        return cls(tuple(pairs))


def _variants(g: Image.Image) -> list[Image.Image]:
    w, h = g.size
    out = [g]
    for f in (0.03, 0.06, 0.09):
        dx, dy = int(w * f), int(h * f)
        out.append(g.crop((dx, dy, w - dx, h - dy)))
    dx, dy = int(w * 0.06), int(h * 0.06)
    out += [
        g.crop((dx, dy, w, h)),
        g.crop((0, 0, w - dx, h - dy)),
        g.crop((dx, 0, w, h - dy)),
        g.crop((0, dy, w - dx, h)),
    ]
    dx, dy = int(w * 0.1), int(h * 0.1)
    out += [
        g.crop((dx, 0, w, h)),
        g.crop((0, 0, w - dx, h)),
        g.crop((0, dy, w, h)),
        g.crop((0, 0, w, h - dy)),
    ]
    return out


def perceptual_hash(img: Image.Image) -> PerceptualHash:
    """Perceptual hashes of an (already oriented) image, full frame and crops."""
    g = img.convert("L")
    if max(g.size) > HASH_SIDE:
        g.thumbnail((HASH_SIDE, HASH_SIDE), Image.Resampling.BILINEAR)
    return PerceptualHash(tuple((str(imagehash.phash(v)), str(imagehash.dhash(v))) for v in _variants(g)))


def hamming(a: str, b: str) -> int:
    """Hamming distance between two equal-length hex hashes."""
    if len(a) != len(b):
        raise ValueError("hashes of different lengths")
    return (int(a, 16) ^ int(b, 16)).bit_count()


def distance(a: PerceptualHash, b: PerceptualHash) -> tuple[int, int]:
    """(distance, threshold) between two pictures; reused when distance <= threshold."""
    if not a.dhash or not b.dhash:
        best = min([hamming(a.phash, q) for q, _ in b.pairs] + [hamming(q, b.phash) for q, _ in a.pairs])
        return best, PHASH_ONLY_THRESHOLD
    scores = [hamming(a.phash, p) + hamming(a.dhash, d) for p, d in b.pairs if d]
    scores += [hamming(p, b.phash) + hamming(d, b.dhash) for p, d in a.pairs if d]
    return min(scores), REUSE_THRESHOLD


@dataclass(frozen=True, slots=True)
class Candidate:
    """Earlier evidence to compare against (``phash`` is ``str(PerceptualHash)`` or a bare pHash)."""

    phash: str
    evidence_id: str | None = None
    visit_id: str | None = None
    household_id: str | None = None
    taken_on: date | datetime | None = None


@dataclass(frozen=True, slots=True)
class ReuseMatch:
    """An earlier piece of evidence that looks like the same photo."""

    candidate: Candidate
    distance: int
    threshold: int


def find_reuse(phash: str | PerceptualHash, candidates: Iterable[Candidate]) -> list[ReuseMatch]:
    """Candidates that look like the same photo (within the documented threshold), nearest first."""
    ph = phash if isinstance(phash, PerceptualHash) else PerceptualHash.parse(phash)
    matches: list[ReuseMatch] = []
    for cand in candidates:
        try:
            other = PerceptualHash.parse(cand.phash)
            dist, threshold = distance(ph, other)
        except ValueError:
            continue  # a malformed stored hash never blocks evidence
        if dist <= threshold:
            matches.append(ReuseMatch(cand, dist, threshold))
    matches.sort(key=lambda m: m.distance)
    return matches
