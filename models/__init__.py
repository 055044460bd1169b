"""SQLModel tables of the store. Importing this package registers every table in the metadata."""

from models.audit import AuditEvent
from models.household import Household, HouseholdMember
from models.job import IdempotencyRecord, Job
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
from models.visit import Visit

__all__ = [
    "ApiToken",
    "Assignment",
    "AuditEvent",
    "Household",
    "HouseholdMember",
    "IdempotencyRecord",
    "InspectionRound",
    "Job",
    "Region",
    "RoundExclusion",
    "RoundSample",
    "RoundSnapshot",
    "RoundTeam",
    "TeamMember",
    "User",
    "Visit",
]
