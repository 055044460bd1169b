"""Who is acting: passed into every service call so rules can check role and region scope."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from models.region import in_subtree
from models.user import Role, User
from services.errors import Forbidden


@dataclass(frozen=True)
class Actor:
    """The authenticated user (or a system process) on whose behalf a service acts."""

    id: uuid.UUID | None
    login: str
    role: Role
    scope_code: str | None = None
    home_township_code: str | None = None
    lang: str = "zh-CN"

    @classmethod
    def of(cls, user: User, lang: str | None = None) -> Actor:
        """The actor for a stored user."""
        return cls(
            user.id, user.login, user.role, user.scope_code, user.home_township_code, lang or user.language
        )

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """An internal actor (CLI, demo seeding) with admin rights and no scope limit."""
        return cls(None, name, Role.admin)

    @property
    def label(self) -> str:
        """How the audit log names this actor."""
        return f"{self.role.value}:{self.login}"

    def require(self, *roles: Role) -> None:
        """Raises Forbidden unless the actor has one of the roles (admins always pass)."""
        if self.role != Role.admin and self.role not in roles:
            raise Forbidden()

    def sees(self, region_code: str | None) -> bool:
        """Whether a region code is inside the actor's scope."""
        if self.role == Role.admin:
            return True
        return in_subtree(region_code, self.scope_code)

    def require_scope(self, region_code: str | None, entity: str = "记录") -> None:
        """Raises Forbidden when the region code lies outside the actor's scope."""
        if not self.sees(region_code):
            raise Forbidden("out_of_scope", entity=entity)
