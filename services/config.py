"""Settings of the store, read from the environment (prefix FEIJIAN_) and `.env`."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from locales.lang import LangSetting, default_lang

VAR_DIR = Path("var")


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def _decode_key(value: str, name: str) -> bytes:
    """Decodes a urlsafe-base64 32-byte key, naming the setting on failure."""
    try:
        raw = base64.urlsafe_b64decode(value.encode() + b"=" * (-len(value) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SettingsError(f"FEIJIAN_{name.upper()} is not valid base64: {exc}") from exc
    if len(raw) != 32:
        raise SettingsError(f"FEIJIAN_{name.upper()} must decode to 32 bytes (got {len(raw)})")
    return raw


COUNTY_THRESHOLDS: tuple[str, ...] = (
    "money_tolerance_yuan",
    "vehicle_value_limit_yuan",
    "review_cadence_months",
    "local_standard_yuan",
    "panel_min_members",
    "panel_quorum_num",
    "panel_quorum_den",
)
"""The settings a county profile may override."""


class Settings(BaseSettings):
    """Every knob of the store; defaults are the embedded demo setup."""

    model_config = SettingsConfigDict(
        env_prefix="FEIJIAN_", env_file=("var/keys.env", ".env"), extra="ignore"
    )

    env: Literal["demo", "development", "test", "production"] = "development"
    database_url: str = Field(default_factory=lambda: f"sqlite:///{VAR_DIR / 'feijian.sqlite'}")
    # PostgreSQL connections each API process keeps open, and how many more it may open at a peak.
    # Connections beyond the kept ones are closed when returned, so a steady load above the kept
    # number would open and close a connection for every request: keep enough for the peaks. Keep
    # workers × (pool size + overflow) below the server's max_connections (100 by default).
    db_pool_size: int = Field(default=12, ge=1, le=200)
    db_max_overflow: int = Field(default=8, ge=0, le=200)
    media_dir: Path = VAR_DIR / "media"
    # Where evidence bytes live: unset means media_dir; s3://bucket/prefix or file:///dir otherwise.
    media_url: str | None = None
    # The S3-compatible endpoint; unset values fall to boto3's standard chain (AWS_* env, ~/.aws).
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    # server-side encryption the object store applies to every upload (on top of our own envelope)
    s3_sse: Literal["AES256", "aws:kms"] | None = None
    s3_sse_kms_key_id: str | None = None
    # master key wrapping each original's data key; unset, new originals are stored in plaintext
    media_key: str | None = None
    # comma-separated master keys still accepted for reading originals wrapped by them
    media_old_keys: str | None = None
    # also encrypt display copies and thumbnails (document photos' copies are redacted either way)
    media_encrypt_derived: bool = False
    # originals of closed visits are purged (`feijian media purge`) this many days after they closed
    media_retention_days: int = Field(default=1095, ge=1)
    secret_key: str | None = None
    pii_key: str | None = None
    # comma-separated keys still accepted for reading while `feijian keys rotate` runs
    pii_old_keys: str | None = None
    # Any tag (zh, en-US, ...) is normalised; unset, it is the language layer's configured default.
    default_language: LangSetting = Field(default_factory=default_lang)
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 90)
    timezone: str = "Asia/Shanghai"
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    max_upload_bytes: int = Field(default=200 * 1024 * 1024, ge=1024)
    supervision_min_township_share: float = Field(default=0.20, ge=0, le=1)
    cross_min_township_share: float = Field(default=0.30, ge=0, le=1)
    enforce_coverage: bool = False
    onsite_radius_m: float = Field(default=150.0, gt=0)
    # How far in the future a client's event time may be (phone clocks drift); later is refused.
    clock_skew_s: float = Field(default=120.0, ge=0, le=3600)
    # No live fix for longer than this is a gap in the live track (its own visit flag).
    track_gap_s: float = Field(default=600.0, gt=0)
    # The https address the store is reached at (console cookies get Secure when it is https).
    public_url: str | None = None
    # An XYZ tile URL for console maps ({z}/{x}/{y}); unset: points on a plain background (offline).
    map_tiles: str | None = None
    release_every_s: float = Field(default=600.0, ge=0)  # 0 turns off the daily release timer (tests)
    # Rectification deadlines in working days (China's official calendar, make-up workdays included)
    ledger_days_high: int = Field(default=10, ge=1, le=250)
    ledger_days_medium: int = Field(default=20, ge=1, le=250)
    ledger_days_low: int = Field(default=30, ge=1, le=250)
    ledger_days_fix_now: int = Field(default=3, ge=1, le=250)  # route 立即整改, whatever the severity
    ledger_remind_days: int = Field(default=3, ge=0, le=30)  # "deadline soon" this many working days ahead
    # officers are told of a household review due within this many days (0: no review notices)
    review_notice_days: int = Field(default=14, ge=0, le=90)
    # County thresholds the checklists compare with (they differ by county; never in the YAML).
    # A shortfall per month up to this is taken as a standard change or rounding, not a lead.
    money_tolerance_yuan: float = Field(default=30.0, ge=0)
    # vehicles owned by covered members worth more than this are a lead
    vehicle_value_limit_yuan: float = Field(default=50000.0, ge=0)
    # a county's own cross-check rule files (*.yaml), added to and overriding the shipped ones
    crosscheck_rules_dir: Path | None = None
    # a household not re-checked for longer than this is a 动态管理 lead
    review_cadence_months: int = Field(default=12, ge=1, le=60)
    # the monthly 低保标准 per person: work income above it × household size is a lead
    local_standard_yuan: float = Field(default=760.0, ge=0)
    # 村民代表评议: the least number of members, and the share (numerator / denominator, exact) of
    # resident representatives among them and of members that must attend
    panel_min_members: int = Field(default=20, ge=1)
    panel_quorum_num: int = Field(default=2, ge=1)
    panel_quorum_den: int = Field(default=3, ge=1)
    # per county (6-digit code) overrides of the thresholds above, e.g. (JSON in the environment)
    # FEIJIAN_COUNTY_PROFILES='{"150425": {"money_tolerance_yuan": 50, "panel_min_members": 15}}'
    county_profiles: dict[str, dict[str, float]] = Field(default_factory=dict)
    # Repeat complaints (一事一案): a new complaint about the same household (or, without one, the same
    # village and category) within this many days, whose text is at least this similar (0–100,
    # rapidfuzz), is linked to the open case; a household with 3 or more complaints (003) within
    # `case_repeat_window_days` before a round's as-of date enters the draw's take-all group.
    case_duplicate_days: int = Field(default=30, ge=1, le=3650)
    case_duplicate_score: int = Field(default=70, ge=1, le=100)
    case_duplicate_household_score: int = Field(default=50, ge=0, le=100)
    case_repeat_window_days: int = Field(default=365, ge=1, le=3650)
    # Cases (一事一案): time limits in working days by category (JSON in the environment), e.g.
    # FEIJIAN_CASE_DAYS='{"objection": 7, "payment": 10}'; categories not listed get case_days_default
    case_days: dict[str, int] = Field(default_factory=lambda: {"objection": 7, "payment": 10})
    case_days_default: int = Field(default=15, ge=1, le=250)
    # an imported case's household match below this confidence waits for a manual confirm
    case_match_threshold: float = Field(default=0.9, ge=0, le=1)

    def county_thresholds(self, county_code: str | None) -> dict[str, float]:
        """The county thresholds for one county: the settings, overridden by its profile."""
        base: dict[str, float] = {name: float(getattr(self, name)) for name in COUNTY_THRESHOLDS}
        profile = self.county_profiles.get(county_code or "", {})
        unknown = set(profile) - set(COUNTY_THRESHOLDS)
        if unknown:
            raise SettingsError(f"FEIJIAN_COUNTY_PROFILES: unknown threshold {sorted(unknown)[0]!r}")
        return {**base, **{k: float(v) for k, v in profile.items()}}

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("FEIJIAN_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("media_url")
    @classmethod
    def _check_media_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        if value.startswith("s3://"):
            bucket = value.removeprefix("s3://").split("/", 1)[0]
            if not bucket or "?" in value or "#" in value:
                raise ValueError("FEIJIAN_MEDIA_URL must look like s3://bucket/prefix")
        elif "://" in value and not value.startswith("file://"):
            raise ValueError("FEIJIAN_MEDIA_URL must be s3://bucket/prefix, file:///dir or a directory")
        return value

    def media_location(self) -> str:
        """The configured media store as a URL or directory (FEIJIAN_MEDIA_URL, else media_dir)."""
        return self.media_url or str(self.media_dir)

    def secret_key_bytes(self) -> bytes:
        """The token-signing key; raises SettingsError when it is missing."""
        if not self.secret_key:
            raise SettingsError("FEIJIAN_SECRET_KEY is not set (generate one: feijian keys)")
        return _decode_key(self.secret_key, "secret_key")

    def pii_key_bytes(self) -> bytes:
        """The personal-data encryption key; raises SettingsError when it is missing."""
        if not self.pii_key:
            raise SettingsError("FEIJIAN_PII_KEY is not set (generate one: feijian keys)")
        return _decode_key(self.pii_key, "pii_key")

    def pii_old_key_bytes(self) -> tuple[bytes, ...]:
        """The old personal-data keys (FEIJIAN_PII_OLD_KEYS, comma-separated), each checked."""
        parts = [p.strip() for p in (self.pii_old_keys or "").split(",") if p.strip()]
        return tuple(_decode_key(p, "pii_old_keys") for p in parts)

    def media_key_bytes(self) -> bytes | None:
        """The evidence master key (FEIJIAN_MEDIA_KEY), None when unset."""
        return _decode_key(self.media_key, "media_key") if self.media_key else None

    def media_old_key_bytes(self) -> tuple[bytes, ...]:
        """The old evidence master keys (FEIJIAN_MEDIA_OLD_KEYS, comma-separated), each checked."""
        parts = [p.strip() for p in (self.media_old_keys or "").split(",") if p.strip()]
        return tuple(_decode_key(p, "media_old_keys") for p in parts)

    def validate_for_serving(self) -> None:
        """Refuses to start without both keys, with the same key used twice, or with a malformed
        media key (which would otherwise fail only at the first upload)."""
        secret = self.secret_key_bytes()
        pii = self.pii_key_bytes()
        if secret == pii or secret in self.pii_old_key_bytes():
            raise SettingsError("FEIJIAN_SECRET_KEY and FEIJIAN_PII_KEY must be different keys")
        media = self.media_key_bytes()
        self.media_old_key_bytes()
        if media is not None and media in (secret, pii):
            raise SettingsError("FEIJIAN_MEDIA_KEY must differ from FEIJIAN_SECRET_KEY and FEIJIAN_PII_KEY")


def new_key() -> str:
    """A fresh random 32-byte key in urlsafe base64."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def ensure_demo_keys(var_dir: Path = VAR_DIR) -> dict[str, str]:
    """Creates ./var/keys.env with fresh keys on first use and returns them (demo only)."""
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "keys.env"
    keys: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                keys[name.strip()] = value.strip()
    changed = False
    for name in ("FEIJIAN_SECRET_KEY", "FEIJIAN_PII_KEY", "FEIJIAN_MEDIA_KEY"):
        if not keys.get(name):
            keys[name] = new_key()
            changed = True
    if changed:
        body = "# generated by `feijian demo`; keep private\n" + "".join(
            f"{k}={v}\n" for k, v in keys.items()
        )
        path.write_text(body)
        os.chmod(path, 0o600)
    return keys


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings)."""
    return Settings()
