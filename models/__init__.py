"""SQLModel tables of the store. Importing this package registers every table in the metadata."""

from models.application import Application, Case, CaseAttachment, StatusAttempt
from models.audit import AuditEvent
from models.case import CaseEvent, ResidentNotice
from models.evidence import Evidence
from models.household import Household, HouseholdMember
from models.invite import BindAttempt, InviteCode, TelegramLink
from models.job import IdempotencyRecord, Job
from models.ledger import LedgerEvent, LedgerItem
from models.notice import Notice
from models.region import Region
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
    "Case",
    "CaseAttachment",
    "CaseEvent",
    "Evidence",
    "Finding",
    "Household",
    "HouseholdMember",
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
