"""Control API setup: health, bots, config, forced rate limits, reset and users."""

from __future__ import annotations

from fastapi import APIRouter

from sandbox.records import JSON, RateLimit
from sandbox.routes.deps import SandboxDep
from sandbox.routes.schemas import BotIn, ConfigIn, ForceIn, UserIn

router = APIRouter()


@router.get("/control/health")
async def health() -> JSON:
    """Liveness probe."""
    return {"ok": True}


@router.get("/control/bots")
async def list_bots(sb: SandboxDep) -> list[JSON]:
    """List known bots."""
    with sb.lock:
        return [sb.bot_info(b) for b in sb.bots.values()]


@router.post("/control/bots")
async def add_bot(sb: SandboxDep, body: BotIn) -> JSON:
    """Register a bot token (optionally as the default bot for control calls)."""
    bot = sb.register_bot(body.token, body.first_name, body.username)
    if body.default:
        sb.default_bot = bot.token
    return sb.bot_info(bot)


@router.delete("/control/bots/{token}")
async def revoke_bot(sb: SandboxDep, token: str) -> JSON:
    """Revoke a token: its Bot API calls now get 401 Unauthorized."""
    sb.revoke_bot(token)
    return {"revoked": token}


@router.get("/control/config")
async def get_config(sb: SandboxDep) -> JSON:
    """Return the sandbox config."""
    return sb.config.to_json()


@router.post("/control/config")
async def set_config(sb: SandboxDep, body: ConfigIn) -> JSON:
    """Change the config: rate limits, auto-registration, webhook retry timings."""
    given = body.model_fields_set
    cfg = sb.config
    with sb.lock:
        if body.auto_register is not None:
            cfg.auto_register = body.auto_register
        if "per_chat_limit" in given:
            cfg.per_chat_limit = (
                RateLimit(**body.per_chat_limit.model_dump()) if body.per_chat_limit else None
            )
        if "global_limit" in given:
            cfg.global_limit = RateLimit(**body.global_limit.model_dump()) if body.global_limit else None
        for key in ("webhook_retry_initial", "webhook_retry_max", "webhook_timeout"):
            if getattr(body, key) is not None:
                setattr(cfg, key, getattr(body, key))
    return cfg.to_json()


@router.post("/control/rate_limit/force")
async def force_429(sb: SandboxDep, body: ForceIn, bot: str | None = None) -> JSON:
    """Make the next `count` message calls (or `methods`; ["*"] = any) of a bot fail with 429."""
    b = sb.resolve_bot(bot)
    sb.force_errors(b, body.count, body.retry_after, body.methods)
    return {"bot": b.username, "pending": len(b.forced_errors)}


@router.post("/control/reset")
async def reset(sb: SandboxDep) -> JSON:
    """Forget all bots, users, chats, files and places."""
    with sb.lock:
        sb.bots.clear()
        sb.default_bot = None
        sb.users.clear()
        sb.files.clear()
        sb.paths.clear()
        sb.places.clear()
    return {"ok": True}


@router.get("/control/users")
async def list_users(sb: SandboxDep) -> list[JSON]:
    """List simulated users."""
    with sb.lock:
        return [dict(u) for u in sb.users.values()]


@router.post("/control/users")
async def create_user(sb: SandboxDep, body: UserIn) -> JSON:
    """Create (or update) a simulated user; returns its Telegram User object."""
    return sb.create_user(body.id, body.first_name, body.last_name, body.username, body.language_code)


@router.get("/control/users/{user_id}")
async def get_user(sb: SandboxDep, user_id: int) -> JSON:
    """Return one user."""
    return sb.user(user_id)
