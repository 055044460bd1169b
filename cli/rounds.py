"""`feijian round ...` and `feijian draw verify`: inspection rounds from the command line."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, err_console, settings, work
from contracts.rounds import RoundCreate, SamplingParams, TakeAllGroup
from models.round import InspectionRound, RoundType
from services import round_dispatch, round_teams, round_verify, rounds
from services.context import Actor
from services.messages import translate

app = typer.Typer(
    help="检查轮次 / inspection rounds: create → commit → draw → assign → dispatch → close → reveal"
)
draw_app = typer.Typer(help="抽样验证 / verify a draw", no_args_is_help=True)

CLI = Actor.system("cli")
Ref = Annotated[str, typer.Argument(help="round id (or a unique prefix of at least 6 characters)")]


def _show(r: InspectionRound) -> None:
    pub = rounds.to_public(r)
    c = pub.commitment
    console.print(f"[bold]{pub.name}[/bold]  {pub.id}")
    console.print(
        f"  {pub.type_label} · {pub.scope_code} · {pub.window_start} → {pub.window_end}"
        f" · [cyan]{pub.status}[/cyan]"
    )
    console.print(
        f"  frame {pub.frame_size}, sample {pub.sample_size}, coverage target {pub.coverage_target:.0%}"
    )
    for stage, rep in pub.coverage.items():
        mark = "[green]✓[/green]" if rep.get("ok") else "[yellow]![/yellow]"
        console.print(
            f"  {mark} coverage {stage}: {rep['townships_covered']}/{rep['townships_in_scope']} townships "
            f"({rep['share']:.0%}, required {rep['required_share']:.0%})"
        )
    if c.seed_hash:
        console.print(f"  seed hash      {c.seed_hash}\n  snapshot hash  {c.snapshot_hash}")
        console.print(f"  params hash    {c.params_hash}\n  algorithm      {c.algorithm_version}")
    if c.witness_input:
        console.print(f"  witness        {c.witness_input}\n  derived seed   {c.derived_seed}")
    if c.secret_seed:
        console.print(f"  secret seed    {c.secret_seed} (revealed {c.revealed_at:%Y-%m-%d %H:%M})")


@app.command("create")
def create(
    name: str,
    scope: Annotated[str, typer.Option(help="region code of the scope (county, township...)")],
    start: Annotated[str, typer.Option(help="window start, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="window end, YYYY-MM-DD")],
    kind: Annotated[
        RoundType, typer.Option("--type", help="flying 飞行式抽查 | slice 切片式督查 | cross 交叉式普查")
    ] = (RoundType.flying),
    ratio: Annotated[float, typer.Option(help="sample ratio per stratum")] = 0.1,
    minimum: Annotated[int, typer.Option("--min", help="minimum per stratum (township × tier)")] = 2,
    township: Annotated[list[str] | None, typer.Option(help="restrict to these townships (slice)")] = None,
    take_all: Annotated[list[TakeAllGroup] | None, typer.Option(help="take-all groups")] = None,
    exclude_visited_days: Annotated[int, typer.Option(help="exclude households visited within N days")] = 0,
    checklist: Annotated[list[str] | None, typer.Option(help="checklist id(s)")] = None,
) -> None:
    """Creates a draft round."""
    params = SamplingParams(
        sample_ratio=ratio,
        min_per_stratum=minimum,
        townships=township or None,
        take_all=take_all if take_all is not None else [TakeAllGroup.cadre_relative],
        exclude_visited_within_days=exclude_visited_days,
    )
    data = RoundCreate(
        name=name,
        type=kind,
        scope_code=scope,
        window_start=date.fromisoformat(start),
        window_end=date.fromisoformat(end),
        checklist_ids=checklist or [],
        params=params,
    )
    with work() as session:
        r = rounds.create_round(session, CLI, data, settings())
        _show(r)


@app.command("list")
def list_() -> None:
    """Lists rounds."""
    table = Table("id", "name", "type", "scope", "window", "status", "sample")
    with work() as session:
        for r in rounds.list_rounds(session, CLI):
            table.add_row(
                str(r.id)[:8],
                r.name,
                r.type.value,
                r.scope_code,
                f"{r.window_start}→{r.window_end}",
                r.status.value,
                str(r.sample_size),
            )
    console.print(table)


@app.command("show")
def show(ref: Ref) -> None:
    """Shows a round and its public commitment."""
    with work() as session:
        _show(rounds.resolve_ref(session, CLI, ref))


@app.command("exclude")
def exclude(
    ref: Ref,
    register_no: Annotated[str, typer.Argument(help="低保证号 of the household")],
    reason: Annotated[str, typer.Option(help="why (required, recorded)")],
    detail: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Leaves a household out of a draft round, with a reason."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        h = rounds.household_by_register(session, register_no)
        rounds.add_exclusion(session, CLI, r.id, h.id, reason, detail)
    console.print(f"[green]✓[/green] {register_no} excluded: {reason}")


@app.command("commit")
def commit(ref: Ref) -> None:
    """Freezes the register snapshot; prints the hashes to publish before the draw meeting."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        _show(rounds.commit_round(session, CLI, r.id, settings()))


@app.command("draw")
def draw(
    ref: Ref,
    witness: Annotated[str, typer.Option(prompt="见证人随机数 / witnesses' input", help="e.g. dice rolls")],
) -> None:
    """Draws the sample from the secret seed and the witnesses' input."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        _show(rounds.draw_round(session, CLI, r.id, witness, settings()))


@app.command("sample")
def sample(ref: Ref) -> None:
    """Prints the drawn households (sealed list: the view is audited)."""
    table = Table("register", "head", "village", "stratum", "π", "weight", "take-all", "blocked")
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        for s in rounds.list_sample(session, CLI, r.id):
            table.add_row(
                s.register_no,
                s.head_name or "",
                s.village_code,
                s.stratum,
                f"{s.inclusion_prob:.3f}",
                f"{s.design_weight:.1f}",
                "✓" if s.take_all else "",
                s.blocked_rule or "",
            )
    console.print(table)


@app.command("assign")
def assign(
    ref: Ref,
    inspector: Annotated[
        list[str] | None, typer.Option(help="inspector login (repeat); default all active")
    ] = None,
    team_size: Annotated[int, typer.Option(min=2)] = 2,
    per_day: Annotated[int, typer.Option(min=1, help="visits per team per day (at least)")] = 6,
) -> None:
    """Forms teams and assigns the sample across townships under the hard rules."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        ids = round_teams.inspector_ids(session, inspector) if inspector else None
        rep = round_teams.assign_round(session, CLI, r.id, ids, None, team_size, per_day, settings())
    table = Table("team", "inspectors", "households")
    for t in rep.teams:
        table.add_row(t.label, ", ".join(t.inspector_logins), str(t.load))
    console.print(table)
    console.print(f"assigned {rep.assigned}, unassignable {len(rep.unassignable)}")
    for u in rep.unassignable:
        console.print(f"  [yellow]![/yellow] {u['household_id']}: {', '.join(u['rules'])}")


@app.command("assignments")
def assignments(ref: Ref) -> None:
    """Prints every assignment (sealed list: the view is audited)."""
    table = Table("team", "#", "date", "register", "head", "village", "leg m", "status")
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        for a in round_teams.list_assignments(session, CLI, r.id):
            table.add_row(
                str(a.team_number),
                str(a.route_order),
                str(a.visit_date),
                a.register_no,
                a.head_name or "",
                a.village_code,
                "" if a.leg_m is None else f"{a.leg_m:.0f}",
                a.status,
            )
    console.print(table)


@app.command("dispatch")
def dispatch(
    ref: Ref,
    day: Annotated[str | None, typer.Option(help="release visits due by this day (default today)")] = None,
) -> None:
    """Releases the assignments due by a day to their inspectors."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        rep = round_dispatch.dispatch(
            session, CLI, r.id, date.fromisoformat(day) if day else None, settings=settings()
        )
    console.print(f"[green]✓[/green] released {rep.released} assignments due by {rep.day}")
    for rel in rep.releases:
        console.print(f"  {rel.inspector_login}: {len(rel.assignment_ids)}")


@app.command("release-due")
def release_due() -> None:
    """Releases, in every dispatched round, the visits whose day has come (run daily)."""
    with work() as session:
        rels = round_dispatch.release_due(session, settings=settings())
    console.print(
        f"released to {len(rels)} inspector(s): {sum(len(r.assignment_ids) for r in rels)} assignment(s)"
    )


@app.command("close")
def close(ref: Ref) -> None:
    """Closes a round."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        _show(rounds.close_round(session, CLI, r.id))


@app.command("reveal")
def reveal(ref: Ref) -> None:
    """Publishes the secret seed of a closed round."""
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        _show(rounds.reveal_round(session, CLI, r.id))


@draw_app.command("verify")
def verify(
    ref: Ref,
    register: Annotated[
        bool, typer.Option(help="also compare the stored snapshot with today's register")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Recomputes the sample from the snapshot, parameters and both inputs; names whatever differs."""
    lang = settings().default_language
    with work() as session:
        r = rounds.resolve_ref(session, CLI, ref)
        rep = round_verify.verify_round(session, CLI, r.id, register)
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "ok": rep.ok,
                    "draw_reproduced": rep.draw_reproduced,
                    "checks": [c.__dict__ for c in rep.checks],
                },
                default=str,
            )
        )
    else:
        for c in rep.checks:
            mark = "[green]✓[/green]" if c.ok else "[red]✗[/red]"
            extra = "" if c.ok else "  " + json.dumps(c.detail, ensure_ascii=False, default=str)[:400]
            console.print(f"{mark} {c.name}{extra}")
    names = ", ".join(c.name for c in rep.failures())
    if rep.ok:
        console.print(
            f"[green]{translate('draw_verified', lang, detail=f'{r.sample_size}/{r.frame_size}')}[/green]"
        )
        return
    err_console.print(f"[red]{translate('draw_verify_failed', lang, detail=names)}[/red]")
    raise typer.Exit(1)
