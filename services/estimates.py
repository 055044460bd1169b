"""Estimates for the report upward: the share of households with a serious finding, per township and county.

Method (documented approximation, `hajek-deville/1`):

* The sample is the round's drawn households with their stored first-order inclusion probabilities
  π_i (`RoundSample.inclusion_prob`). Only visited households answer; within each draw stratum the
  weights of the visited are scaled up to the stratum's drawn weight (a weighting-class non-response
  adjustment, assuming households are missed at random within a stratum).
* Hájek estimator of the share: R = Σ w_i y_i / Σ w_i with w_i = 1/π_i, y_i = 1 when the household has
  a serious (high-severity), not dismissed finding of the round.
* Variance by linearisation: z_i = w_i (y_i − R) / Σ w, and per stratum Deville's (1993) approximation
  for high-entropy unequal-probability designs (the draw is a randomised systematic PPS):
  v_h = 1/(1 − Σ a_k²) · Σ (1 − π_k)(z_k − Σ a_l z_l)², a_k = (1 − π_k)/Σ(1 − π_l). Certain units
  (π = 1, e.g. registered cadre relatives) add nothing. A stratum with a single uncertain unit uses
  (1 − π) z² (conservative).
* 95% interval: Wilson's score interval with the effective sample size n_eff = R(1 − R)/v (capped at
  the sample size; the sample size itself when R is 0 or 1), so that it stays inside [0, 1] and does
  not collapse when no serious finding was seen. A full census (every π = 1) has no sampling error.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlmodel import Session, col, select

from contracts.estimates import RoundEstimates, ShareEstimate
from contracts.rounds import RoundStatus
from contracts.visits import VisitStatus
from contracts.vocab import SERIOUS_SEVERITIES
from models.region import Region
from models.round import RoundSample
from models.visit import Finding, FindingReview, Visit
from services import access, audit
from services.context import Actor
from services.errors import Conflict

METHOD = "hajek-deville/1"
Z95 = 1.959963984540054
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Share:
    """A share estimate with its linearised variance and 95% interval."""

    share: float
    variance: float
    population: float
    n: int
    low: float
    high: float

    @property
    def std_error(self) -> float:
        """The estimated standard error."""
        return math.sqrt(max(self.variance, 0.0))


def wilson(p: float, n_eff: float, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for a share p observed on an (effective) sample size n_eff."""
    if n_eff <= 0:
        return 0.0, 1.0
    z2 = z * z
    denom = 1.0 + z2 / n_eff
    centre = (p + z2 / (2 * n_eff)) / denom
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n_eff + z2 / (4 * n_eff * n_eff)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def deville_variance(z: FloatArray, pi: FloatArray, stratum: IntArray) -> float:
    """Σ over strata of Deville's variance approximation of the total of z (see the module text)."""
    if z.size == 0:
        return 0.0
    n_strata = int(stratum.max()) + 1
    c = np.clip(1.0 - pi, 0.0, 1.0)
    c_sum = np.bincount(stratum, weights=c, minlength=n_strata)
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(c_sum[stratum] > 0, c / c_sum[stratum], 0.0)
    centre = np.bincount(stratum, weights=a * z, minlength=n_strata)
    a2 = np.bincount(stratum, weights=a * a, minlength=n_strata)
    sq = np.bincount(stratum, weights=c * (z - centre[stratum]) ** 2, minlength=n_strata)
    single = np.bincount(stratum, weights=c * z * z, minlength=n_strata)
    uncertain = np.bincount(stratum, weights=(c > 0).astype(np.float64), minlength=n_strata)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_h = np.where(uncertain >= 2, sq / (1.0 - a2), np.where(uncertain == 1, single, 0.0))
    return float(np.sum(v_h))


def hajek_share(y: FloatArray, pi: FloatArray, stratum: IntArray) -> Share | None:
    """Hájek estimate of a share from 0/1 outcomes y with inclusion probabilities pi (None: no units)."""
    n = int(y.size)
    if n == 0:
        return None
    w = 1.0 / pi
    total = float(np.sum(w))
    share = float(np.sum(w * y) / total)
    z = w * (y - share) / total
    variance = deville_variance(z, pi, stratum)
    if np.all(pi >= 1.0 - 1e-12):
        return Share(share, 0.0, total, n, share, share)
    if 0.0 < share < 1.0 and variance > 0:
        n_eff = min(float(n), share * (1.0 - share) / variance)
    else:
        n_eff = float(n)
    low, high = wilson(share, n_eff)
    return Share(share, variance, total, n, low, high)


def adjust_for_nonresponse(pi: FloatArray, responded: npt.NDArray[np.bool_], stratum: IntArray) -> FloatArray:
    """Respondents' inclusion probabilities once their weights are scaled up to the stratum's drawn weight."""
    n_strata = int(stratum.max()) + 1 if stratum.size else 0
    w = 1.0 / pi
    drawn = np.bincount(stratum, weights=w, minlength=n_strata)
    answered = np.bincount(stratum, weights=np.where(responded, w, 0.0), minlength=n_strata)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(answered > 0, drawn / answered, 1.0)
    adjusted: FloatArray = np.minimum(1.0, 1.0 / (w * factor[stratum]))
    return adjusted


# ---- a round's estimates -------------------------------------------------------------------------


def round_estimates(session: Session, actor: Actor, round_id: uuid.UUID) -> RoundEstimates:
    """Per township and county shares of households with a serious finding in a closed round."""
    r = access.round_for_actor(session, actor, round_id, "estimates")
    if r.status != RoundStatus.closed:
        raise Conflict("estimates_round_not_closed")
    samples = session.exec(select(RoundSample).where(RoundSample.round_id == round_id)).all()
    visited = set(
        session.exec(
            select(Visit.household_id).where(
                Visit.round_id == round_id, Visit.status == VisitStatus.submitted
            )
        ).all()
    )
    serious = set(
        session.exec(
            select(Finding.household_id).where(
                Finding.round_id == round_id,
                col(Finding.severity).in_(list(SERIOUS_SEVERITIES)),
                col(Finding.review) != FindingReview.dismissed,
            )
        ).all()
    )
    strata = sorted({s.stratum for s in samples})
    index = {k: i for i, k in enumerate(strata)}
    stratum = np.array([index[s.stratum] for s in samples], dtype=np.int64)
    pi = np.array([s.inclusion_prob for s in samples], dtype=np.float64)
    responded = np.array([s.household_id in visited for s in samples], dtype=np.bool_)
    y = np.array([1.0 if s.household_id in serious else 0.0 for s in samples])
    pi_adj = adjust_for_nonresponse(pi, responded, stratum) if samples else pi
    town = [s.stratum.split("|", 1)[0] for s in samples]
    areas: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, t in enumerate(town):
        areas[("township", t)].append(i)
        areas[("county", t[:6])].append(i)
    codes = {code for _, code in areas}
    names = {
        reg.code: reg.name for reg in session.exec(select(Region).where(col(Region.code).in_(codes))).all()
    }
    out: dict[str, list[ShareEstimate]] = {"township": [], "county": []}
    for (level, code), rows in sorted(areas.items()):
        if not actor.sees(code):
            continue
        idx = np.array(rows, dtype=np.int64)
        keep = idx[responded[idx]]
        est = hajek_share(y[keep], pi_adj[keep], stratum[keep])
        out[level].append(
            ShareEstimate(
                region_code=code,
                region_name=names.get(code, code),
                level=level,
                sampled=len(rows),
                visited=int(keep.size),
                with_serious=int(y[keep].sum()),
                population=round(est.population, 1) if est else 0.0,
                share=est.share if est else None,
                std_error=est.std_error if est else None,
                ci_low=est.low if est else None,
                ci_high=est.high if est else None,
            )
        )
    audit.record(session, actor, "round.estimates", "round", round_id, method=METHOD)
    return RoundEstimates(
        round_id=round_id, method=METHOD, confidence=0.95, townships=out["township"], counties=out["county"]
    )
