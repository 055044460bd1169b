"""Request bodies of the control API (pydantic models, shown in /control/docs)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

JSON = dict[str, Any]


class BotIn(BaseModel):
    """Register a bot token."""

    token: str
    first_name: str | None = None
    username: str | None = None
    default: bool = False


class UserIn(BaseModel):
    """Create or update a simulated user."""

    id: int | None = None
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None


class TextIn(BaseModel):
    """The user sends text or a command."""

    text: str
    reply_to_message_id: int | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class PressIn(BaseModel):
    """The user presses an inline button."""

    message_id: int
    data: str
    check: bool = True


class LocationIn(BaseModel):
    """The user shares a location (live when live_period is set)."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    horizontal_accuracy: float | None = None
    live_period: int | None = None
    heading: int | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class LiveStartIn(LocationIn):
    """The user starts sharing a live location."""

    live_period: int | None = 900


class LiveMoveIn(BaseModel):
    """The user's live location moves."""

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    message_id: int | None = None
    heading: int | None = None
    horizontal_accuracy: float | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class LiveStopIn(BaseModel):
    """The user stops sharing a live location."""

    message_id: int | None = None
    #: Telegram `date` of the edit (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class VenueIn(BaseModel):
    """The user sends a venue."""

    latitude: float
    longitude: float
    title: str
    address: str
    foursquare_id: str | None = None
    google_place_id: str | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class ContactIn(BaseModel):
    """The user shares a contact."""

    phone_number: str
    first_name: str
    last_name: str | None = None
    user_id: int | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class StickerIn(BaseModel):
    """The user sends a sticker."""

    emoji: str = "👍"
    set_name: str | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class ForwardIn(BaseModel):
    """The user forwards a message (an existing one, or text with a forward_origin)."""

    text: str | None = None
    origin: JSON | None = None
    from_chat_id: int | None = None
    message_id: int | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)


class OfflineIn(BaseModel):
    """Take a user offline (their updates are held) or back online (the held burst is released)."""

    offline: bool = True


class BlockIn(BaseModel):
    """Mark a user as having blocked (or unblocked) the bot."""

    blocked: bool = True
    emit_update: bool = True


class ForceIn(BaseModel):
    """Make the next `count` calls fail with 429."""

    count: int = Field(default=1, ge=0)
    retry_after: int = Field(default=1, ge=1)
    methods: list[str] | None = None


class LimitIn(BaseModel):
    """A rate limit: at most `limit` calls per `window` seconds."""

    limit: int = Field(ge=1)
    window: float = Field(default=1.0, gt=0)


class ConfigIn(BaseModel):
    """Change sandbox behaviour (fields left out are unchanged; null disables a limit)."""

    auto_register: bool | None = None
    per_chat_limit: LimitIn | None = None
    global_limit: LimitIn | None = None
    webhook_retry_initial: float | None = None
    webhook_retry_max: float | None = None
    webhook_timeout: float | None = None


class PlaceIn(BaseModel):
    """A named point (e.g. a household) offered by the chat page."""

    name: str
    latitude: float
    longitude: float
    address: str | None = None
    id: str | None = None


class PlacesIn(BaseModel):
    """Replace (or extend) the list of named points."""

    places: list[PlaceIn]
    replace: bool = True


class PhotoJsonIn(BaseModel):
    """A photo or document given as base64 in JSON instead of multipart."""

    data_base64: str
    caption: str | None = None
    as_file: bool = False
    file_name: str | None = None
    mime_type: str | None = None
    #: Telegram `date` of the message (Unix seconds); default now
    date: int | None = Field(default=None, gt=0)
