"""Cadre-relatives registry (近亲属备案): cadres' declarations of their near relatives.

Staff of social assistance and village-committee cadres declare their near relatives; relatives who
receive (or apply for) dibao must be registered (备案) and get attention in every draw. ID numbers
only encrypted plus keyed hashes, like households.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Uuid
from sqlmodel import Field, SQLModel

from models.types import new_uuid, ts_column, utcnow


class Cadre(SQLModel, table=True):
    """A declaring cadre: name, unit and post, the township whose table counts them."""

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    name: str = Field(max_length=60)
    id_enc: str = Field(max_length=200)
    id_hash: str = Field(max_length=64, index=True)  # declarations are upserted by it
    unit: str = Field(max_length=120)
    post: str = Field(max_length=60)
    township_code: str = Field(max_length=9, index=True)
    declared_on: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_column=ts_column(nullable=False))


class CadreRelative(SQLModel, table=True):
    """A near relative a cadre declared (配偶, 父母, 子女, 兄弟姐妹, …)."""

    __tablename__ = "cadre_relative"

    id: uuid.UUID = Field(default_factory=new_uuid, primary_key=True)
    cadre_id: uuid.UUID = Field(
        sa_column=Column(Uuid(), ForeignKey("cadre.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    name: str = Field(max_length=60)
    id_enc: str = Field(max_length=200)
    id_hash: str = Field(max_length=64, index=True)  # matched against the register
    relation: str = Field(max_length=20)
    position: int = 0
