"""`feijian sandbox`: run the local Telegram Bot API sandbox (Bot API + control API + /chat page)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run the local Telegram Bot API sandbox.")


@app.callback(invoke_without_command=True)
def run(
    host: str = typer.Option("127.0.0.1", help="Interface to bind (keep it local)."),
    port: int = typer.Option(8081, help="Port to listen on."),
    per_chat_limit: int = typer.Option(0, help="Messages per second per chat before 429 (0 = no limit)."),
    global_limit: int = typer.Option(0, help="Messages per second per bot before 429 (0 = no limit)."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    state_file: str = typer.Option(
        "var/sandbox.sqlite",
        help="Where update numbering, users and chats are kept across restarts ('' = none).",
    ),
) -> None:
    """Serve the sandbox until interrupted; the chat page is at /chat."""
    from sandbox.runner import serve
    from sandbox.state import RateLimit, SandboxConfig

    config = SandboxConfig(
        per_chat_limit=RateLimit(per_chat_limit) if per_chat_limit else None,
        global_limit=RateLimit(global_limit) if global_limit else None,
    )
    typer.echo(f"Telegram sandbox on http://{host}:{port}")
    typer.echo(f"  bot base_url:      http://{host}:{port}/bot")
    typer.echo(f"  bot base_file_url: http://{host}:{port}/file/bot")
    typer.echo(f"  chat page:         http://{host}:{port}/chat")
    typer.echo(f"  control API docs:  http://{host}:{port}/control/docs")
    serve(host=host, port=port, config=config, log_level=log_level, state_file=state_file or None)
