"""Cadre-relatives registry (近亲属备案): declarations, the register match and the township table."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from contracts.residents import ImportRowError


class RelativeIn(BaseModel):
    """A near relative as the cadre declares them."""

    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=18, max_length=18)
    relation: str = Field(min_length=1, max_length=20)


class CadreIn(BaseModel):
    """A declaration: the cadre and the complete list of their near relatives (it replaces the last one)."""

    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=18, max_length=18)
    unit: str = Field(min_length=1, max_length=120)
    post: str = Field(min_length=1, max_length=60)
    township_code: str = Field(pattern=r"^[0-9]{9}$")
    relatives: list[RelativeIn] = Field(default_factory=list, max_length=50)


class RelativeOut(BaseModel):
    """A declared relative as shown: name and ID number masked; registered households they belong to."""

    name: str
    id_number: str
    relation: str
    households: list[str] = Field(default_factory=list)  # register numbers of active dibao households


class CadreOut(BaseModel):
    """A declaration as shown (identifiers masked)."""

    id: uuid.UUID
    name: str
    id_number: str
    unit: str
    post: str
    township_code: str
    declared_on: datetime
    relatives: list[RelativeOut]


class CadreImportResult(BaseModel):
    """How many declarations an import stored, with how many relatives, and the rows it refused."""

    cadres: int
    relatives: int
    errors: list[ImportRowError]


class CadreMatch(BaseModel):
    """One hit of the register match.

    kind: `declared` (a declared relative in a dibao household: registered), `cadre_self` (the cadre's
    own household receives dibao: registered), `undeclared` (the register shows a near relative the
    declaration lacks: a finding), `application` (a declared relative or the cadre applies).
    """

    kind: str
    cadre: str  # masked
    township_code: str
    relation: str
    register_no: str | None = None
    application_number: str | None = None
    finding_id: uuid.UUID | None = None


class MatchReport(BaseModel):
    """What a match over the cadres in scope found and did."""

    cadres: int
    declared_beneficiaries: int
    newly_registered: int
    cadres_in_register: int
    undeclared: int
    new_findings: int
    applications: int
    matches: list[CadreMatch]


class TownshipRow(BaseModel):
    """One line of the township statistics table (统计表)."""

    township_code: str
    township_name: str
    cadres: int
    declared_relatives: int
    relatives_on_dibao: int
    registered_households: int
    cadres_on_dibao: int
    undeclared_relatives: int
    relatives_applying: int
