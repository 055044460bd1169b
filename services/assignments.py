"""Assignment of drawn households to inspector teams: hard conflict rules, balance, village grouping, routes.

Pure functions over plain data (no database), so the rules can be property-tested and benchmarked.

Hard rules (a household never goes to a team where one holds):
* `own_township`: a team member's home township is the household's township (交叉: no self-inspection);
* `declared_relative`: the head's or a member's ID hash is on a team member's declared-relatives list;
* `previous_visit`: a team member visited the household in the previous round.

Soft goals: balanced load (largest village first to the least-loaded eligible team), a village kept on
one team when the rules allow, and each team's visits ordered as a short route: nearest neighbour, then
best-improvement 2-opt on an open path. Routing decisions use a vectorised great-circle (haversine)
matrix, which orders stops the same as ellipsoidal distances to well under 1 %; the leg lengths
reported to inspectors are geodesic (geopy, WGS-84 ellipsoid).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
from geopy.distance import geodesic

HARD_RULES = ("own_township", "declared_relative", "previous_visit")
EARTH_RADIUS_M = 6_371_008.8


@dataclass(frozen=True)
class HouseholdFacts:
    """What assignment needs to know about a drawn household."""

    id: str
    township: str
    village: str
    lat: float | None = None
    lon: float | None = None
    id_hashes: frozenset[str] = frozenset()
    previous_inspectors: frozenset[str] = frozenset()


@dataclass(frozen=True)
class InspectorFacts:
    """What assignment needs to know about an inspector."""

    id: str
    home_township: str | None = None
    relative_hashes: frozenset[str] = frozenset()


Team = tuple[InspectorFacts, ...]


def violations(h: HouseholdFacts, team: Team) -> list[str]:
    """The hard rules that forbid giving this household to this team (empty: allowed)."""
    out: list[str] = []
    if any(m.home_township is not None and m.home_township == h.township for m in team):
        out.append("own_township")
    if any(m.relative_hashes & h.id_hashes for m in team):
        out.append("declared_relative")
    if any(m.id in h.previous_inspectors for m in team):
        out.append("previous_visit")
    return out


def form_teams(inspectors: Sequence[InspectorFacts], team_size: int = 2) -> list[Team]:
    """Teams of `team_size` (never fewer); colleagues from one home township share a team, so fewer
    townships are closed to the teams; a remainder joins the last teams."""
    if team_size < 1:
        raise ValueError("team_size must be at least 1")
    ordered = sorted(inspectors, key=lambda i: (i.home_township or "", i.id))
    n_teams = len(ordered) // team_size
    if n_teams == 0:
        return []
    teams: list[list[InspectorFacts]] = [ordered[k * team_size : (k + 1) * team_size] for k in range(n_teams)]
    for k, extra in enumerate(ordered[n_teams * team_size :]):
        teams[-1 - (k % n_teams)].append(extra)
    return [tuple(t) for t in teams]


@dataclass
class Plan:
    """The outcome: each team's ordered route, leg lengths, and households no team may take."""

    routes: list[list[str]]
    legs_m: dict[str, float | None] = field(default_factory=dict)
    unassignable: dict[str, list[str]] = field(default_factory=dict)

    def team_of(self) -> dict[str, int]:
        """Household id → team index."""
        return {hid: t for t, route in enumerate(self.routes) for hid in route}


def eligibility(
    households: Sequence[HouseholdFacts], teams: Sequence[Team]
) -> dict[str, npt.NDArray[np.bool_]]:
    """One [team × household] mask per hard rule: True where that rule blocks the pair."""
    n_t, n_h = len(teams), len(households)
    towns = sorted({h.township for h in households})
    town_idx = {t: i for i, t in enumerate(towns)}
    home = np.zeros((n_t, len(towns)), dtype=np.bool_)
    by_hash: dict[str, set[int]] = defaultdict(set)
    by_inspector: dict[str, set[int]] = defaultdict(set)
    for t, team in enumerate(teams):
        for m in team:
            if m.home_township in town_idx:
                home[t, town_idx[m.home_township]] = True
            for rh in m.relative_hashes:
                by_hash[rh].add(t)
            by_inspector[m.id].add(t)
    hh_town = np.fromiter((town_idx[h.township] for h in households), dtype=np.int64, count=n_h)
    relative = np.zeros((n_t, n_h), dtype=np.bool_)
    previous = np.zeros((n_t, n_h), dtype=np.bool_)
    for j, h in enumerate(households):
        for idh in h.id_hashes:
            for t in by_hash.get(idh, ()):
                relative[t, j] = True
        for pid in h.previous_inspectors:
            for t in by_inspector.get(pid, ()):
                previous[t, j] = True
    return {"own_township": home[:, hh_town], "declared_relative": relative, "previous_visit": previous}


def haversine_matrix(lat: npt.NDArray[np.float64], lon: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Great-circle distances in metres between every pair of points."""
    p, q = np.radians(lat), np.radians(lon)
    dp = p[:, None] - p[None, :]
    dq = q[:, None] - q[None, :]
    a = np.sin(dp / 2) ** 2 + np.cos(p)[:, None] * np.cos(p)[None, :] * np.sin(dq / 2) ** 2
    out: npt.NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))
    return out


def nearest_neighbour(dist: npt.NDArray[np.float64], start: int) -> list[int]:
    """Greedy tour: from start, always to the nearest unvisited point."""
    n = dist.shape[0]
    seen = np.zeros(n, dtype=np.bool_)
    order = [start]
    seen[start] = True
    cur = start
    for _ in range(n - 1):
        row = np.where(seen, np.inf, dist[cur])
        cur = int(np.argmin(row))
        seen[cur] = True
        order.append(cur)
    return order


def two_opt(dist: npt.NDArray[np.float64], order: list[int], max_iter: int | None = None) -> list[int]:
    """Best-improvement 2-opt on an open path with a fixed first stop (vectorised gain matrix)."""
    n = len(order)
    if n < 4:
        return order
    d = np.zeros((n + 1, n + 1))
    d[:n, :n] = dist
    r = np.array([*order, n])  # a free dummy end turns the open path into a cycle problem
    for _ in range(max_iter or 10 * n):
        a, b = r[:-1], r[1:]
        ab = d[a, b]
        gain = ab[:, None] + ab[None, :] - d[a[:, None], a[None, :]] - d[b[:, None], b[None, :]]
        gain = np.triu(gain, 2)
        k = int(np.argmax(gain))
        i, j = divmod(k, gain.shape[1])
        if gain[i, j] <= 1e-6:
            break
        r[i + 1 : j + 1] = r[i + 1 : j + 1][::-1].copy()
    return [int(x) for x in r[:-1]]


def route(households: Sequence[HouseholdFacts]) -> list[int]:
    """Visiting order (indices): located stops by NN + 2-opt from the outermost, then the rest by village."""
    located = [i for i, h in enumerate(households) if h.lat is not None and h.lon is not None]
    rest = sorted(
        (i for i, h in enumerate(households) if h.lat is None or h.lon is None),
        key=lambda i: (households[i].village, households[i].id),
    )
    if not located:
        return rest
    lat = np.array([households[i].lat for i in located], dtype=np.float64)
    lon = np.array([households[i].lon for i in located], dtype=np.float64)
    dist = haversine_matrix(lat, lon)
    centre = haversine_matrix(np.append(lat, lat.mean()), np.append(lon, lon.mean()))[-1, :-1]
    start = int(np.argmax(centre))
    order = two_opt(dist, nearest_neighbour(dist, start))
    return [located[i] for i in order] + rest


def _leg(a: HouseholdFacts, b: HouseholdFacts) -> float | None:
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        return None
    return float(geodesic((a.lat, a.lon), (b.lat, b.lon)).meters)


def plan(households: Sequence[HouseholdFacts], teams: Sequence[Team]) -> Plan:
    """Assigns every household it can under the hard rules, balanced, by village, each team routed."""
    n_t = len(teams)
    if n_t == 0:
        return Plan([], unassignable={h.id: ["no_team"] for h in households})
    masks = eligibility(households, teams)
    blocked = masks["own_township"] | masks["declared_relative"] | masks["previous_visit"]
    ok = ~blocked
    out = Plan([[] for _ in range(n_t)])
    free = ok.any(axis=0)
    for j in map(int, np.flatnonzero(~free)):
        out.unassignable[households[j].id] = [r for r in HARD_RULES if masks[r][:, j].any()]
    by_village: dict[str, list[int]] = defaultdict(list)
    for j in map(int, np.flatnonzero(free)):
        by_village[households[j].village].append(j)
    target = max(1, math.ceil(int(free.sum()) / n_t))
    chunks: list[list[int]] = []
    for village in sorted(by_village):
        members = sorted(by_village[village], key=lambda j: (households[j].lat or 0.0, households[j].id))
        chunks.extend(members[k : k + target] for k in range(0, len(members), target))
    chunks.sort(key=lambda c: (-len(c), households[c[0]].village, households[c[0]].id))
    load = np.zeros(n_t, dtype=np.int64)
    members_of: list[list[int]] = [[] for _ in range(n_t)]
    for chunk in chunks:
        whole = ok[:, chunk].all(axis=1)
        if whole.any():
            t = int(np.argmin(np.where(whole, load, np.iinfo(np.int64).max)))
            members_of[t].extend(chunk)
            load[t] += len(chunk)
            continue
        for j in chunk:  # the rules split this village: place each household on its own
            t = int(np.argmin(np.where(ok[:, j], load, np.iinfo(np.int64).max)))
            members_of[t].append(j)
            load[t] += 1
    for t, idx in enumerate(members_of):
        stops = [households[j] for j in idx]
        order = [stops[k] for k in route(stops)]
        out.routes[t] = [h.id for h in order]
        prev: HouseholdFacts | None = None
        for h in order:
            out.legs_m[h.id] = None if prev is None else _leg(prev, h)
            prev = h
    return out


def schedule(n_stops: int, start: date, end: date, per_day: int) -> list[date]:
    """Visit dates for a route of n stops within the window: at least per_day a day, spread to fit."""
    days = max(1, (end - start).days + 1)
    per = max(1, per_day, math.ceil(n_stops / days))
    return [start + timedelta(days=min(k // per, days - 1)) for k in range(n_stops)]
