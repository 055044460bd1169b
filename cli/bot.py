"""`feijian bot`, `feijian bot dead-letters`, `feijian invite LOGIN` and `feijian bot-token`: the
Telegram edge from the command line."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from cli.common import console, fail, work
from services import invites, telegram
from services.context import Actor

app = typer.Typer(help="Run the Telegram bot, or look after its dead letters.")


@app.callback(invoke_without_command=True)
def bot(
    ctx: typer.Context,
    issue_token: Annotated[
        bool, typer.Option(help="When FEIJIAN_STORE_TOKEN is unset, issue one from the local store database.")
    ] = True,
) -> None:
    """Run the Telegram bot (polling; webhook when FEIJIAN_WEBHOOK_URL is set)."""
    if ctx.invoked_subcommand is not None:
        return
    from bot.app import run
    from bot.settings import get_bot_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    conf = get_bot_settings()
    if not conf.store_token and issue_token:
        # The embedded setup: the bot and the store share this machine, so the CLI can mint its token.
        with work() as session:
            token, _ = telegram.issue_bot_token(session, Actor.system("cli"))
        conf = conf.model_copy(update={"store_token": token})
    console.print(f"Bot API: {conf.base_url}  store: {conf.store_url}  state: {conf.bot_database_url}")
    run(conf)


@app.command(name="dead-letters")
def dead_letters(
    replay: Annotated[
        int | None, typer.Option(help="Put this dead letter back into the bot's inbox to be handled again.")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Also list dead letters already replayed.")] = False,
) -> None:
    """List the updates the bot could not parse or handle (its dead letters), or replay one."""
    from bot.db import BotDB
    from bot.settings import get_bot_settings

    db = BotDB(get_bot_settings().bot_database_url)
    try:
        if replay is not None:
            if not db.dead_letter_replay(replay):
                fail(f"no dead letter {replay} waiting to be replayed")
            console.print(
                f"dead letter {replay}: back in the inbox; the running bot handles it within seconds"
            )
            return
        rows = db.dead_letters(include_replayed=all_)
        if not rows:
            console.print("no dead letters")
            return
        for r in rows:
            replayed = f"  replayed {r['replayed_at']:%Y-%m-%d %H:%M}" if r["replayed_at"] else ""
            console.print(
                f"{r['id']}  update {r['update_id']}  chat {'-' if r['chat_id'] is None else r['chat_id']}"
                f"  {r['failed_at']:%Y-%m-%d %H:%M:%S}Z{replayed}\n    {r['error']}",
                markup=False,
                highlight=False,
            )
    finally:
        db.dispose()


def invite(
    login: Annotated[str, typer.Argument(help="The staff user's login.")],
    ttl_hours: Annotated[int, typer.Option(help="Hours the code stays valid.", min=1, max=720)] = 72,
) -> None:
    """Create a one-time invite code; the user sends `/start CODE` to the bot."""
    with work() as session:
        new = invites.create_invite(session, Actor.system("cli"), login=login, ttl_hours=ttl_hours)
    tz_note = new.invite.expires_at.isoformat(timespec="minutes")
    console.print(f"{new.user.name} ({new.user.login}): [bold]/start {new.code}[/bold]  (expires {tz_note})")


def bot_token(
    ttl_days: Annotated[int, typer.Option(help="Days the token stays valid.", min=1, max=3650)] = 365,
) -> None:
    """Issue a service token for the bot (set it as FEIJIAN_STORE_TOKEN where the bot runs)."""
    with work() as session:
        token, expires = telegram.issue_bot_token(session, Actor.system("cli"), ttl_hours=ttl_days * 24)
    console.print(f"FEIJIAN_STORE_TOKEN={token}")
    console.print(f"# expires {expires.isoformat(timespec='minutes')}")
