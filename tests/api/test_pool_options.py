"""An API process on PostgreSQL keeps enough connections for its peaks; SQLite keeps its own."""

from __future__ import annotations

from sqlalchemy.pool import QueuePool

from api.app import pool_options
from api.deps import pool_capacity
from models.db import make_engine
from services.config import Settings, new_key


def _settings(url: str, **kw: int) -> Settings:
    return Settings(env="test", database_url=url, secret_key=new_key(), pii_key=new_key(), **kw)  # type: ignore[arg-type]


def test_postgresql_pool_is_sized_by_the_settings() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/feijian_pool_probe"  # never connected to here
    default = make_engine(url, **pool_options(_settings(url)))
    assert isinstance(default.pool, QueuePool)
    assert default.pool.size() == 12 and pool_capacity(default) == 20
    sized = make_engine(url, **pool_options(_settings(url, db_pool_size=30, db_max_overflow=0)))
    assert sized.pool.size() == 30 and pool_capacity(sized) == 30
    default.dispose()
    sized.dispose()


def test_sqlite_keeps_its_own_pool() -> None:
    assert pool_options(_settings("sqlite:///var/x.sqlite")) == {}
