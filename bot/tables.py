"""The bot's own tables (SQLAlchemy Core): user state, handled updates, outbox, notices, PTB state.

They are created with `metadata.create_all` at start (see `bot.db.BotDB`): the bot's database is
its private working state, not a record, so there is no migration history to replay. A schema
version row says which version made it: the previous version is upgraded in place at start (its
queued store writes kept, see `bot.upgrade`), anything else refuses to start with a clear message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SCHEMA_VERSION = "4"
metadata = MetaData()
JSONType = JSON().with_variant(JSONB(), "postgresql")


class AwareDateTime(TypeDecorator[datetime]):
    """UTC-aware timestamps on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


bot_meta = Table(
    "bot_meta",
    metadata,
    Column("key", String(40), primary_key=True),
    Column("value", String(200), nullable=False),
)

# What the bot knows of a Telegram user: binding, language, last location, reachability.
bot_user = Table(
    "bot_user",
    metadata,
    Column("telegram_user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("chat_id", BigInteger, nullable=False),
    Column("language", String(10), nullable=True),
    Column("bound", Boolean, nullable=False, default=False),
    Column("store_user_id", String(36), nullable=True),
    Column("role", String(20), nullable=True),
    Column("name", String(60), nullable=True),
    Column("last_lat", Float, nullable=True),
    Column("last_lon", Float, nullable=True),
    Column("last_location_at", AwareDateTime(), nullable=True),
    Column("unreachable_at", AwareDateTime(), nullable=True),
    Column("updated_at", AwareDateTime(), nullable=False),
)

# Every handled update_id, written in the handler's own transaction: a redelivery has no effect.
processed_update = Table(
    "processed_update",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    Column("telegram_user_id", BigInteger, nullable=True),
    Column("handled_at", AwareDateTime(), nullable=False, index=True),
)

# The bot's inbox: every raw update, stored before the getUpdates offset (or the webhook's 200)
# confirms it to Telegram; handlers run from here and mark their row done in their own transaction.
# update_id is unique only while it increases (Telegram may restart it after a long gap, the sandbox
# after a restart), so a row is keyed by the id and the numbering epoch it arrived in.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("update_id", BigInteger, nullable=False),
    Column("epoch", Integer, nullable=False, default=0),
    Column("chat_id", BigInteger, nullable=True),
    Column("raw", JSONType, nullable=False),
    Column("status", String(8), nullable=False, index=True),  # pending | done | dead
    Column("attempts", Integer, nullable=False, default=0),
    # The inbox worker handling it now (see InboxQueries.inbox_claim); NULL when nobody is.
    Column("claimed_by", BigInteger, nullable=True),
    Column("received_at", AwareDateTime(), nullable=False, index=True),
    Column("done_at", AwareDateTime(), nullable=True),
    UniqueConstraint("update_id", "epoch", name="uq_inbox_update"),
)

# Updates that could not be parsed, or whose handler failed repeatedly, with the error; replayable
# with `feijian bot dead-letters --replay ID`.
dead_letter = Table(
    "dead_letter",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("inbox_id", Integer, nullable=False, unique=True),
    Column("update_id", BigInteger, nullable=False),
    Column("chat_id", BigInteger, nullable=True),
    Column("raw", JSONType, nullable=False),
    Column("error", String(500), nullable=False),
    Column("failed_at", AwareDateTime(), nullable=False),
    Column("replayed_at", AwareDateTime(), nullable=True),
)

# A conversation in progress per user and name (issue 8's guided visit lives here).
conversation = Table(
    "conversation",
    metadata,
    Column("telegram_user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("name", String(40), primary_key=True),
    Column("state", String(60), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("nonce", String(16), nullable=False),
    Column("updated_at", AwareDateTime(), nullable=False),
)

# Writes for the store, in order per user, each with its idempotency key: JSON calls and photo
# uploads alike. A row names a store operation (see bot/store_calls.py), never a path; a photo's
# body carries its Telegram file id and upload fields, the file itself is fetched at send time.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False, unique=True),
    Column("telegram_user_id", BigInteger, nullable=True, index=True),
    Column("op", String(40), nullable=False),
    Column("target", String(64), nullable=True, index=True),  # the resource, e.g. the visit id
    Column("body", JSONType, nullable=True),
    Column("status", String(12), nullable=False, index=True),  # pending | done | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", AwareDateTime(), nullable=False, index=True),
    Column("last_error", String(500), nullable=True),
    Column("response", JSONType, nullable=True),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("done_at", AwareDateTime(), nullable=True),
)

# Notices to deliver: one row per notice and recipient, so a notice is never queued twice.
outgoing_notice = Table(
    "outgoing_notice",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notice_id", String(64), nullable=False),
    Column("recipient", BigInteger, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("params", JSONType, nullable=False),
    Column("language", String(10), nullable=False),
    # pending | sending | sent | unreachable | uncertain | failed
    Column("status", String(12), nullable=False, index=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("not_before", AwareDateTime(), nullable=False, index=True),
    Column("created_at", AwareDateTime(), nullable=False),
    Column("sent_at", AwareDateTime(), nullable=True),
    Column("error", String(300), nullable=True),
    UniqueConstraint("notice_id", "recipient", name="uq_outgoing_notice"),
)

# PTB's own persistence (user_data, chat_data, bot_data, conversations), as JSON.
ptb_state = Table(
    "ptb_state",
    metadata,
    Column("kind", String(20), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("data", JSONType, nullable=True),
)
