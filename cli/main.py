"""The `feijian` command: every edge of the product from one place."""

from __future__ import annotations

import typer

from cli import (
    applications,
    cadres,
    cases,
    checklists,
    crosschecks,
    household_import,
    keys,
    ledger,
    media,
    reviews,
    rounds,
    sandbox,
    serve,
    store,
)
from cli import bot as bot_cli

app = typer.Typer(help="飞检 Feijian — unannounced inspections of dibao households", no_args_is_help=True)
app.command()(serve.demo)
app.command()(serve.serve)
app.command()(store.migrate)
app.add_typer(keys.app, name="keys")
app.add_typer(store.regions_app, name="regions")
app.add_typer(store.users_app, name="users")
app.add_typer(store.audit_app, name="audit")
app.add_typer(household_import.app, name="import")
app.add_typer(applications.app, name="applications")
app.add_typer(cases.app, name="cases")
app.add_typer(checklists.app, name="checklists")
app.add_typer(media.app, name="media")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(rounds.app, name="round")
app.add_typer(rounds.draw_app, name="draw")
app.add_typer(ledger.app, name="ledger")
app.add_typer(cadres.app, name="cadres")
app.add_typer(reviews.app, name="reviews")
app.add_typer(crosschecks.app, name="crosscheck")
app.add_typer(bot_cli.app, name="bot")
app.command()(bot_cli.invite)
app.command(name="bot-token")(bot_cli.bot_token)


if __name__ == "__main__":
    app()
