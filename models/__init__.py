"""SQLModel tables of the store. Importing this package registers every table in the metadata."""

from models.application import Application, Case, CaseAttachment, StatusAttempt
from models.audit import AuditEvent
from models.cadre import Cadre, CadreRelative
from models.case import CaseEvent, ResidentNotice
from models.case_link import CaseCheck, CaseLink
from models.crosscheck import CrosscheckMatch, CrosscheckRun
from models.evidence import Evidence
from models.household import Household, HouseholdMember
from models.invite import BindAttempt, InviteCode, TelegramLink
from models.job import IdempotencyRecord, Job
from models.ledger import LedgerEvent, LedgerItem
from models.notice import Notice
from models.region import Region
from models.review import HouseholdReview
from models.round import (
    Assignment,
    InspectionRound,
    RoundExclusion,
    RoundSample,
    RoundSnapshot,
    RoundTeam,
    TeamMember,
)
from models.user import ApiToken, User
from models.visit import Finding, Visit

__all__ = [
    "ApiToken",
    "Application",
    "Assignment",
    "AuditEvent",
    "BindAttempt",
    "Cadre",
    "CadreRelative",
    "Case",
    "CaseAttachment",
    "CaseCheck",
    "CaseEvent",
    "CaseLink",
    "CrosscheckMatch",
    "CrosscheckRun",
    "Evidence",
    "Finding",
    "Household",
    "HouseholdMember",
    "HouseholdReview",
    "IdempotencyRecord",
    "InspectionRound",
    "InviteCode",
    "Job",
    "LedgerEvent",
    "LedgerItem",
    "Notice",
    "Region",
    "ResidentNotice",
    "RoundExclusion",
    "RoundSample",
    "RoundSnapshot",
    "RoundTeam",
    "StatusAttempt",
    "TeamMember",
    "TelegramLink",
    "User",
    "Visit",
]
